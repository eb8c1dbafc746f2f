"""A thin Gradio page over `assistant/`: ask in Chinese, get an answer that cites
sections, open the source; browse, upload and remove documents.

    python ui.py [--index DIR] [--corpus DIR] [--host 127.0.0.1] [--port 7860] [--auth user:password]

Every action has an api_name, so scripts can call it with gradio_client.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

from assistant.answer import Answer
from assistant.compare import compare_sections
from assistant.draft import check_draft, read_draft
from assistant.export import comparison_blocks, draft_blocks, precedent_blocks, write
from assistant.inputs import topic_notice
from assistant.library import KEEP_BOTH, MAX_UPLOAD_BYTES, REPLACE, list_documents
from assistant.llm import LLMConfig
from assistant.precedents import find_precedents
from assistant.render import (
    CSS,
    answer_html,
    comparison_html,
    document_html,
    draft_html,
    esc,
    precedents_html,
    result_cards,
)
from assistant.retrieve import Filters, QueryError, clean_query, query_notice
from assistant.service import Service
from assistant.throttle import LoginThrottle
from indexer import store
from indexer.errors import PolicyQAError
from indexer.read import SUPPORTED_SUFFIXES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description="政策文件问答网页")
    p.add_argument("--index", default=env("POLICYQA_INDEX", "index"), help="索引文件夹，或已注册后端的地址（如 opensearch://…）")
    p.add_argument("--corpus", default=env("POLICYQA_CORPUS"), help="文档文件夹（上传的文件存放于此）")
    p.add_argument("--host", default=env("POLICYQA_HOST", "127.0.0.1"), help="监听地址（默认只在本机）")
    p.add_argument("--port", type=int, default=int(env("POLICYQA_PORT", "7860")))
    p.add_argument("--model", default=env("POLICYQA_MODEL"))
    p.add_argument("--auth", default=env("POLICYQA_AUTH"), help="登录用户名:密码（也可用 POLICYQA_AUTH）")
    p.add_argument("--share", action="store_true", help="生成公网分享链接（默认不生成）")
    p.add_argument("--today", default=env("POLICYQA_TODAY"),
                   help="问题中的“今年”“去年”按此日期理解（YYYY-MM-DD；默认索引中最新的年份）")
    return p.parse_args(argv)


def start_service(index_dir: str | Path, corpus: Path | None = None, model: str | None = None,
                  today: str | None = None) -> Service:
    """The page's service, with its index and models already loading in the background;
    a question that arrives before they are ready waits for them."""
    service = Service(index_dir, corpus_dir=corpus, model=model, llm=LLMConfig.from_env(), today=today)
    if service.local:
        store.remove_stale_staging(service.index_dir)  # left by a server killed mid-build
    threading.Thread(target=service.warm_up, name="warm-up", daemon=True).start()
    return service


def _start_early() -> Service:
    # Start-up creates millions of objects that live as long as the server (Gradio's modules, the
    # word segmenter's dictionary, the index): collecting garbage among them only costs time.
    # Collection resumes, with them set aside, once the page is built (see serve).
    gc.disable()
    args = parse_args()
    return start_service(args.index, Path(args.corpus) if args.corpus else None, args.model, args.today)


# Run as a program, the index and models start loading before Gradio is imported (~3 s of
# the ~5 s start-up), so the two go on at once.
_STARTED = _start_early() if __name__ == "__main__" else None

import gradio as gr  # noqa: E402 - deliberately after the early start
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402

log = logging.getLogger("policyqa.ui")
EXAMPLES = ["发展党员有哪些要求", "如何加强师德师风建设", "近视防控有什么目标", "武进2023年计划增加多少学位"]
DOC_HEADERS = ["标题", "发文机关", "文号", "日期", "年份", "地区", "类型", "章节数", "文件", "文档ID"]
USER_ERRORS = PolicyQAError  # every error whose message is written for users
MAX_K = 50
TARGET_HEADERS = ["数值", "所指", "出处"]
# Queue: questions are short CPU work on one shared model; more than this many at
# once only makes each slower on a 2-core machine. Builds run one at a time. Up to
# QUEUE_SIZE requests wait their turn; beyond that Gradio answers "queue full" at once
# instead of letting waits grow without bound (bench/soak.py measures both).
ASK_CONCURRENCY = 4
QUEUE_SIZE = 64


def _years(values) -> set[int]:
    return {int(v) for v in values or [] if str(v).isdigit()}


def _filters(years, regions, docs) -> Filters:
    return Filters(years=_years(years), regions=set(regions or []), docs=set(docs or []))


def _message(text: str) -> str:
    return f'<div class="pq-empty">{esc(text)}</div>'


def _status(*lines: str) -> str:
    """Status lines as text: file names and titles never become links or markup."""
    return "".join(f'<p class="pq-status">{esc(line)}</p>' for line in lines if line)


def count_slider(**kwargs) -> gr.Slider:
    """A result-count slider whose value from an API caller is clamped to 1–MAX_K (the page's
    own range is smaller), never refused with Gradio's English bounds error. (Set on the
    instance: Gradio writes a .pyi stub beside any module that subclasses a component.)"""
    slider = gr.Slider(**kwargs)
    slider.preprocess = lambda payload: float(_bounded_k(payload))
    return slider


def _bounded_k(k) -> int:
    try:
        return max(1, min(MAX_K, int(float(k))))
    except (TypeError, ValueError):
        return 5


def _notice(query: str | None) -> str:
    notice = query_notice(query)
    return _message(notice) if notice else ""


def _unexpected(e: Exception) -> str:
    log.exception("unexpected error")
    return _message(f"内部错误（{type(e).__name__}），请稍后再试或联系管理员。")


class Page:
    """The callbacks of the page, each small and each mapping errors to a message."""

    def __init__(self, service: Service):
        self.service = service

    # -- choices for the filters and pickers --------------------------------------------------

    def choices(self):
        try:
            docs = list_documents(self.service.engine)
        except PolicyQAError:
            return [], [], []
        years = sorted({str(d.year) for d in docs if d.year}, reverse=True)
        regions = sorted({d.region for d in docs if d.region})
        titles = [(f"{d.title}（{d.source}）", d.doc_id) for d in docs]
        return years, regions, titles

    def table(self) -> list[list]:
        try:
            docs = list_documents(self.service.engine)
        except PolicyQAError:
            return []
        return [[d.title, d.org, d.doc_number, d.date, d.year or "", d.region, d.doc_type, d.sections, d.source,
                 d.doc_id] for d in docs]

    def refreshed(self):
        years, regions, titles = self.choices()
        return (self.table(), gr.update(choices=years), gr.update(choices=regions), gr.update(choices=titles),
                gr.update(choices=titles), gr.update(choices=titles))

    # -- 问答 --------------------------------------------------------------------------------

    def ask(self, question: str, years: list, regions: list, docs: list):
        try:
            answer: Answer | None = None
            notice = _notice(question)
            for answer in self.service.ask(question or "", k=5, filters=_filters(years, regions, docs)):
                yield notice + answer_html(answer), result_cards(answer.question, answer.passages, empty=answer.message)
        except USER_ERRORS as e:
            yield _message(str(e)), ""
        except Exception as e:  # never a traceback on the page
            yield _unexpected(e), ""

    def search(self, query: str, k: float, years: list, regions: list) -> str:
        try:
            k = _bounded_k(k)
            results = self.service.search(query, k=k, filters=_filters(years, regions, []))
            return _notice(query) + result_cards(clean_query(query), results)
        except USER_ERRORS as e:
            return _message(str(e))
        except Exception as e:
            return _unexpected(e)

    # -- 文档 --------------------------------------------------------------------------------

    def show(self, doc_id: str, section_key: str = "") -> str:
        if not doc_id:
            return _message("请选择一个文档。")
        try:
            return document_html(self.service.engine, doc_id, section_key or "")
        except USER_ERRORS as e:
            return _message(str(e))
        except Exception as e:
            return _unexpected(e)

    def pick_row(self, evt: gr.SelectData):
        row = evt.row_value if evt is not None else None
        doc_id = row[-1] if row else ""
        return gr.update(value=doc_id), self.show(doc_id)

    def from_link(self, request: gr.Request):
        """`?doc=…&section=…` opens that section in its document."""
        params = dict(request.query_params) if request is not None else {}
        doc_id, key = params.get("doc", ""), params.get("section", "")
        if not doc_id:
            return gr.update(), gr.update(), gr.update()
        return gr.Tabs(selected="docs"), gr.update(value=doc_id), self.show(doc_id, key)

    def upload(self, files, same_name: str = KEEP_BOTH, progress=gr.Progress()):  # noqa: B008 - how Gradio injects progress
        if not files:
            return (_status("请先选择要上传的文件。"), *self.refreshed())
        pairs = [(Path(f), Path(f).name) for f in (files if isinstance(files, list) else [files])]
        on_conflict = REPLACE if same_name == REPLACE else KEEP_BOTH
        try:
            uploads, report = self.service.upload(pairs, progress=_progress(progress), on_conflict=on_conflict)
        except USER_ERRORS as e:
            return (_status(f"上传失败：{e}"), *self.refreshed())
        except Exception as e:
            log.exception("upload failed")
            return (_status(f"上传失败：内部错误（{type(e).__name__}）"), *self.refreshed())
        lines = [u.message() for u in uploads]
        if report is not None:
            lines.append(f"索引现有 {report.documents} 个文档、{report.sections} 个章节（新增 {len(report.added)}，"
                         f"更新 {len(report.changed)}，新计算向量 {report.embedded} 个）。")
            lines += [f"注意 {w.source}：{w.reason}" for w in report.warnings]
        return (_status(*lines), *self.refreshed())

    def remove(self, doc_id: str, progress=gr.Progress()):  # noqa: B008
        if not doc_id:
            return (_status("请选择要移除的文档。"), *self.refreshed())
        try:
            removed, report = self.service.remove(doc_id, progress=_progress(progress))
        except USER_ERRORS as e:
            return (_status(f"移除失败：{e}"), *self.refreshed())
        except Exception as e:
            log.exception("remove failed")
            return (_status(f"移除失败：内部错误（{type(e).__name__}）"), *self.refreshed())
        return (_status(f"已从索引移除：{removed.source}（文件已移到文档文件夹的 .removed/{removed.stored}，可以恢复）。"
                        f"索引现有 {report.documents} 个文档。"), *self.refreshed())


class Drafting:
    """Callbacks of the 先例 tab: precedents, comparison, draft check, export."""

    def __init__(self, service: Service):
        self.service = service

    def precedents(self, text: str, years: list, regions: list):
        try:
            if not (text or "").strip():
                raise QueryError("请输入主题或粘贴一段草稿，例如：党建品牌创建")
            ps = find_precedents(self.service.answerer(), text, _filters(years, regions, []))
        except USER_ERRORS as e:
            return _status(str(e)), _message(str(e)), [], gr.update(choices=[]), gr.update(choices=[])
        except Exception as e:
            return _status("出错了"), _unexpected(e), [], gr.update(choices=[]), gr.update(choices=[])
        choices = [(f"{r.year or ''} {r.region} › {r.section_path[-1]}", r.section_id) for r in ps.sections()]
        rows = [[t.value, t.counts, t.citation] for t in ps.targets]
        first, second = default_pair(ps)
        return (_status(topic_notice(text), ps.coverage_line()), precedents_html(ps), rows,
                gr.update(choices=choices, value=first),
                gr.update(choices=choices, value=second))

    def compare(self, first: str, second: str) -> str:
        if not first or not second:
            return _message("请选择或填写两个章节 ID（形如 文档ID#3.7）。")
        try:
            return comparison_html(compare_sections(self.service.engine, first, second))
        except USER_ERRORS as e:
            return _message(str(e))
        except Exception as e:
            return _unexpected(e)

    def draft_check(self, text: str, file) -> str:
        try:
            if file:
                text = read_draft(file if isinstance(file, str) else file.name)
            return draft_html(check_draft(self.service.answerer(), text or ""))
        except USER_ERRORS as e:
            return _message(str(e))
        except Exception as e:
            return _unexpected(e)

    def export(self, text: str, years: list, regions: list, first: str, second: str, fmt: str):
        """The precedent set (and the comparison, when two sections are chosen) as a file."""
        try:
            if not (text or "").strip():
                raise QueryError("请先输入主题")
            blocks = precedent_blocks(find_precedents(self.service.answerer(), text, _filters(years, regions, [])))
            if first and second:
                blocks += comparison_blocks(compare_sections(self.service.engine, first, second))
            return str(write(blocks, _export_path("先例", fmt))), ""
        except USER_ERRORS as e:
            return None, _status(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, _status(f"导出失败：内部错误（{type(e).__name__}）")

    def export_draft(self, text: str, file, fmt: str):
        try:
            if file:
                text = read_draft(file if isinstance(file, str) else file.name)
            report = check_draft(self.service.answerer(), text or "")
            return str(write(draft_blocks(report), _export_path("草稿检查", fmt))), ""
        except USER_ERRORS as e:
            return None, _status(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, _status(f"导出失败：内部错误（{type(e).__name__}）")


def default_pair(ps) -> tuple[str | None, str | None]:
    """What to compare first: the two latest plans of one region (what changed from
    year to year), else the oldest and the newest precedent."""
    sections = [p.section for p in ps.precedents]
    by_region: dict[str, list] = {}
    for s in sections:
        if s.region:
            by_region.setdefault(s.region, []).append(s)
    pairs = [sorted(v, key=lambda s: s.year or 0)[-2:] for v in by_region.values() if len(v) > 1]
    if pairs:
        a, b = max(pairs, key=lambda p: p[1].year or 0)
        return a.section_id, b.section_id
    if len(sections) > 1:
        return sections[0].section_id, sections[-1].section_id
    return (sections[0].section_id, None) if sections else (None, None)


def _export_path(stem: str, fmt: str) -> Path:
    suffix = ".docx" if str(fmt).lower().lstrip(".") in ("docx", "word") else ".md"
    folder = Path(tempfile.mkdtemp(prefix="policyqa-export-"))
    return folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"


def _progress(progress):
    def update(stage: str, done: int, total: int) -> None:
        progress((done, max(total, 1)), desc=stage)

    return update


def build_app(service: Service) -> gr.Blocks:
    page = Page(service)
    drafting = Drafting(service)
    years, regions, titles = page.choices()
    try:
        _ = service.engine
        load_error = ""
    except PolicyQAError as e:
        load_error = str(e)

    with gr.Blocks(title="政策文件问答") as app:
        gr.Markdown("## 政策文件问答\n提出问题，回答中的每一条都注明出自哪份文件的哪一节，并可一键打开原文。")
        if load_error:
            gr.Markdown(f"**索引不可用：** {esc(load_error)}")
        with gr.Tabs(selected="qa") as tabs:
            with gr.Tab("问答", id="qa"):
                with gr.Row():
                    question = gr.Textbox(label="问题", placeholder="例如：发展党员有哪些要求", scale=5,
                                          elem_id="pq-question")
                    ask_btn = gr.Button("提问", variant="primary", scale=1, elem_id="pq-ask")
                with gr.Accordion("筛选", open=False), gr.Row():
                    f_year = gr.Dropdown(choices=years, multiselect=True, label="年份")
                    f_region = gr.Dropdown(choices=regions, multiselect=True, label="地区")
                    f_doc = gr.Dropdown(choices=titles, multiselect=True, label="文档")
                gr.Examples(EXAMPLES, inputs=question, label="示例问题")
                answer = gr.HTML(elem_id="pq-answer")
                passages = gr.HTML(elem_id="pq-passages")
            with gr.Tab("检索", id="search"):
                with gr.Row():
                    query = gr.Textbox(label="关键词或问题", scale=5)
                    k = count_slider(minimum=1, maximum=20, value=5, step=1, label="结果数", scale=2)
                    search_btn = gr.Button("检索", scale=1)
                results = gr.HTML()
            with gr.Tab("先例", id="precedents"):
                gr.Markdown("输入一个主题（如“党建品牌创建”）或粘贴一段草稿：看各文件的同类条目、指标，对比不同年份的写法。")
                with gr.Row():
                    topic = gr.Textbox(label="主题或段落", lines=2, scale=5, elem_id="pq-topic")
                    p_btn = gr.Button("查找先例", variant="primary", scale=1)
                with gr.Row():
                    p_year = gr.Dropdown(choices=years, multiselect=True, label="年份")
                    p_region = gr.Dropdown(choices=regions, multiselect=True, label="地区")
                coverage = gr.HTML()
                p_html = gr.HTML(elem_id="pq-precedents")
                p_targets = gr.Dataframe(headers=TARGET_HEADERS, value=[], interactive=False, wrap=True,
                                         label="目标与指标")
                with gr.Row():
                    cmp_a = gr.Dropdown(label="对比：章节甲", allow_custom_value=True, scale=2)
                    cmp_b = gr.Dropdown(label="章节乙", allow_custom_value=True, scale=2)
                    cmp_btn = gr.Button("对比", scale=1)
                cmp_html = gr.HTML(elem_id="pq-compare")
                with gr.Row():
                    fmt = gr.Radio(["docx", "md"], value="docx", label="导出格式")
                    exp_btn = gr.Button("导出先例与对比")
                    exp_file = gr.File(label="导出文件", interactive=False)
                exp_msg = gr.HTML()
                with gr.Accordion("草稿检查", open=False):
                    draft_box = gr.Textbox(label="粘贴整份草稿", lines=8)
                    draft_file = gr.File(label="或上传草稿（.txt、.md、.docx、.pdf …）", file_types=sorted(SUPPORTED_SUFFIXES),
                                         type="filepath")
                    with gr.Row():
                        draft_btn = gr.Button("检查草稿")
                        draft_exp = gr.Button("导出检查结果")
                        draft_out = gr.File(label="导出文件", interactive=False)
                    draft_html_out = gr.HTML(elem_id="pq-draft")
                    draft_msg = gr.HTML()
            with gr.Tab("文档", id="docs"):
                docs_table = gr.Dataframe(value=page.table(), headers=DOC_HEADERS, interactive=False,
                                          wrap=True, label="已索引的文档（点击一行查看）")
                with gr.Row():
                    doc_pick = gr.Dropdown(choices=titles, label="查看文档", scale=4)
                    section_key = gr.Textbox(label="章节（可留空）", scale=1, visible=False)
                doc_view = gr.HTML(elem_id="pq-doc")
                with gr.Accordion("上传与移除", open=False):
                    allowed = sorted(SUPPORTED_SUFFIXES)
                    uploads = gr.File(label=f"上传文件（{'、'.join(allowed)}，单个不超过 "
                                      f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB）",
                                      file_count="multiple", file_types=allowed, type="filepath")
                    same_name = gr.Radio([("保留两者（新文件改名保存）", KEEP_BOTH), ("替换（原文件移到 .removed/，可恢复）", REPLACE)],
                                         value=KEEP_BOTH, label="已有同名文件时")
                    upload_btn = gr.Button("上传并加入索引")
                    with gr.Row():
                        remove_pick = gr.Dropdown(choices=titles, label="要移除的文档", scale=4)
                        remove_btn = gr.Button("从索引移除", variant="stop", scale=1)
                    status = gr.HTML()

        ask_inputs = [question, f_year, f_region, f_doc]
        # ask, search, precedents and draft check share one pool of ASK_CONCURRENCY workers
        pool = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "questions"}
        ask_btn.click(page.ask, ask_inputs, [answer, passages], api_name="ask", **pool)
        question.submit(page.ask, ask_inputs, [answer, passages], api_name=False, **pool)
        search_btn.click(page.search, [query, k, f_year, f_region], results, api_name="search", **pool)
        query.submit(page.search, [query, k, f_year, f_region], results, api_name=False, **pool)
        app.load(page.table, None, docs_table, api_name="list_documents")
        doc_pick.input(page.show, [doc_pick, section_key], doc_view, api_name="show_document")
        docs_table.select(page.pick_row, None, [doc_pick, doc_view], api_name=False)
        refreshed = [docs_table, f_year, f_region, f_doc, doc_pick, remove_pick]
        upload_btn.click(page.upload, [uploads, same_name], [status, *refreshed], api_name="upload", concurrency_limit=1,
                         concurrency_id="build")
        remove_btn.click(page.remove, remove_pick, [status, *refreshed], api_name="remove", concurrency_limit=1,
                         concurrency_id="build")
        p_inputs = [topic, p_year, p_region]
        p_outputs = [coverage, p_html, p_targets, cmp_a, cmp_b]
        p_btn.click(drafting.precedents, p_inputs, p_outputs, api_name="precedents", **pool)
        topic.submit(drafting.precedents, p_inputs, p_outputs, api_name=False, **pool)
        cmp_btn.click(drafting.compare, [cmp_a, cmp_b], cmp_html, api_name="compare")
        exp_btn.click(drafting.export, [topic, p_year, p_region, cmp_a, cmp_b, fmt], [exp_file, exp_msg],
                      api_name="export")
        draft_btn.click(drafting.draft_check, [draft_box, draft_file], draft_html_out, api_name="draft_check", **pool)
        draft_exp.click(drafting.export_draft, [draft_box, draft_file, fmt], [draft_out, draft_msg],
                        api_name="export_draft")
        app.load(page.from_link, None, [tabs, doc_pick, doc_view], api_name=False).then(
            None, None, None, js="() => setTimeout(() => document.getElementById('pq-target')"
                                 "?.scrollIntoView({block: 'start'}), 400)")
    return app


def parse_auth(value: str | None):
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SystemExit("错误：--auth 的格式应为 用户名:密码")
    return (user, password)


def serve(index_dir: str | Path, host: str = "127.0.0.1", port: int = 7860, model: str | None = None,
          corpus: Path | None = None, auth: str | None = None, share: bool = False,
          service: Service | None = None, today: str | None = None) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    login = parse_auth(auth)
    app = build_app(service or start_service(index_dir, corpus, model, today))
    gc.freeze()  # what start-up made stays: keep it out of every later collection
    gc.enable()
    _stop_on_sigterm()
    launch(app, host, port, auth=login, share=share)


def _stop_on_sigterm() -> None:
    """`systemctl stop` (SIGTERM) stops the server as Ctrl-C does: Gradio closes, and a build
    under way removes its staging folder on the way out (indexer.store)."""
    def stop(signum, frame):
        store.request_stop()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           share: bool = False, **extra):
    """Queue and serve the page with the settings the product runs with (tests use this too)."""
    app.queue(default_concurrency_limit=ASK_CONCURRENCY, max_size=QUEUE_SIZE)
    app_kwargs = {"middleware": [Middleware(LoginGate)]} if auth else None
    return app.launch(server_name=host, server_port=port, share=share, auth=auth, css=CSS, show_error=False,
                      max_file_size=MAX_UPLOAD_BYTES, footer_links=["api"], app_kwargs=app_kwargs, **extra)


class LoginGate:
    """ASGI middleware in front of Gradio when a login is configured.

    Gradio checks the login on its data routes, but answers a few others to anyone (heartbeat,
    run history, token and app id) and embeds the API description, with the dropdown choices
    (document titles, regions), in the login page itself. Until the visitor has a session, only
    what the login form needs is served, and the embedded API description is blanked.
    """

    SHELL = {"/", "/login", "/login/", "/logout", "/config", "/config/", "/favicon.ico", "/robots.txt",
             "/manifest.json", "/theme.css", "/gradio_api/theme.css", "/gradio_api/startup-events",
             "/gradio_api/login_check", "/gradio_api/login_check/"}
    SHELL_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
    _EMBEDDED = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)

    LOGIN = {"/login", "/login/"}
    throttle = LoginThrottle()  # one per process: every app served shares the counts

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in self.LOGIN:
            return await self._login(scope, receive, send)
        if scope["type"] not in ("http", "websocket") or self._logged_in(scope):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path not in self.SHELL and not path.startswith(self.SHELL_PREFIXES):
            return await self._refuse(scope, receive, send)
        start, chunks = None, []

        async def collect(message):
            nonlocal start
            if message["type"] == "http.response.start" and self._is_html(message):
                start = message
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._send_scrubbed(send, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, collect)

    async def _login(self, scope, receive, send) -> None:
        """A login attempt: refused at once while its name or address must wait; otherwise
        passed to Gradio, and a failure counted and logged."""
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False) and len(body) < 64 * 1024
        user = (parse_qs(body.decode("utf-8", "replace")).get("username") or [""])[0].strip()
        address = (scope.get("client") or ("?", 0))[0]
        wait = self.throttle.wait(user, address)
        if wait > 0:
            log.warning("登录被限制：用户 %r，地址 %s，还需等待 %.0f 秒", user, address, wait)
            response = JSONResponse({"detail": f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试"}, status_code=429,
                                    headers={"Retry-After": str(math.ceil(wait))})
            return await response(scope, receive, send)
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(user, address)
                else:
                    failures = self.throttle.failed(user, address)
                    log.warning("登录失败：用户 %r，地址 %s（连续第 %d 次）", user, address, failures)
            await send(message)

        await self.app(scope, replay, watch)

    @staticmethod
    def _logged_in(scope) -> bool:
        gradio_app = scope.get("app")
        cookie_id = getattr(gradio_app, "cookie_id", None)
        cookies = Request(scope).cookies if scope["type"] == "http" else {}
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return getattr(gradio_app, "tokens", {}).get(token) is not None

    @staticmethod
    async def _refuse(scope, receive, send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse({"detail": {"error": "Not authenticated"}}, status_code=401)
        await response(scope, receive, send)

    @staticmethod
    def _is_html(start) -> bool:
        return any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in start.get("headers", []))

    async def _send_scrubbed(self, send, start, body: bytes) -> None:
        body = self._EMBEDDED.sub(b"window.gradio_api_info = null;</script>", body)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None, service: Service | None = None) -> int:
    args = parse_args(argv)
    try:
        serve(args.index, args.host, args.port, args.model, Path(args.corpus) if args.corpus else None,
              args.auth, args.share, service=service, today=args.today)
    except KeyboardInterrupt:  # stopped before the page was up
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(service=_STARTED))
