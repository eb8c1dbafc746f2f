"""A thin Gradio page over `assistant/`: search the policy corpus, see cited sections.

    python ui.py [--index DIR] [--host 127.0.0.1] [--port 7860]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import gradio as gr

from assistant.render import CSS, esc, result_cards
from assistant.retrieve import Filters, QueryError
from assistant.service import Service
from indexer.store import IndexProblem


def _years(values) -> set[int]:
    return {int(v) for v in values or [] if str(v).isdigit()}


def build_app(service: Service) -> gr.Blocks:
    try:
        index = service.index
        years = sorted({d.year for d in index.documents if d.year}, reverse=True)
        regions = sorted({d.region for d in index.documents if d.region})
        load_error = ""
    except IndexProblem as e:
        years, regions, load_error = [], [], str(e)

    def search(query: str, k: float, year: list, region: list):
        try:
            results = service.search(query, k=int(k), filters=Filters(years=_years(year), regions=set(region or [])))
        except (QueryError, IndexProblem) as e:
            return f'<div class="pq-empty">{esc(e)}</div>'
        return result_cards(query, results)

    with gr.Blocks(title="政策文件检索") as app:
        gr.Markdown("## 政策文件检索\n输入问题或关键词，结果按章节给出出处。")
        if load_error:
            gr.Markdown(f"**索引不可用：** {esc(load_error)}")
        with gr.Row():
            query = gr.Textbox(label="问题或关键词", placeholder="例如：发展党员有哪些要求", scale=4)
            button = gr.Button("搜索", variant="primary", scale=1)
        with gr.Row():
            k = gr.Slider(1, 20, value=5, step=1, label="结果数")
            year = gr.Dropdown(choices=[str(y) for y in years], multiselect=True, label="年份")
            region = gr.Dropdown(choices=regions, multiselect=True, label="地区")
        gr.Examples(["发展党员有哪些要求", "如何加强师德师风建设", "近视防控有什么目标"], inputs=query)
        output = gr.HTML(label="结果")
        button.click(search, [query, k, year, region], output, api_name="search")
        query.submit(search, [query, k, year, region], output, api_name=False)
    return app


def serve(index_dir: Path, host: str = "127.0.0.1", port: int = 7860, model: str | None = None) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    service = Service(index_dir, model=model)
    app = build_app(service)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, share=False, css=CSS, show_error=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="政策文件检索网页")
    p.add_argument("--index", default=os.environ.get("POLICYQA_INDEX", "index"))
    p.add_argument("--host", default=os.environ.get("POLICYQA_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("POLICYQA_PORT", "7860")))
    p.add_argument("--model", default=os.environ.get("POLICYQA_MODEL"))
    args = p.parse_args(argv)
    serve(Path(args.index), args.host, args.port, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
