"""Terminal text of search results and build reports (answers, precedents and the rest are
in plain.py, which needs the answer modules: a one-shot search does not import them)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.build import BuildReport

    from ..search.results import SearchResult

LISTED = 20  # files named per kind of change in the summary of a build


def color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def format_report(r: BuildReport) -> str:
    lines = []
    if r.up_to_date:
        lines.append(f"索引已是最新：{r.index_dir}（{r.documents} 个文档，{r.sections} 个章节，{r.chunks} 个文本块）")
    else:
        lines.append(f"已建立索引：{r.index_dir}")
        lines.append(f"  文档 {r.documents} 个，章节 {r.sections} 个，文本块 {r.chunks} 个")
        changes = [f"新增 {len(r.added)}", f"更新 {len(r.changed)}", f"删除 {len(r.removed)}", f"未变 {r.unchanged}"]
        lines.append("  文件：" + "，".join(changes))
        speed = f"，解析 {r.characters} 字，{r.characters / r.seconds:.0f} 字/秒" if r.characters and r.seconds else ""
        lines.append(f"  向量：新计算 {r.embedded} 个，复用 {r.reused} 个；用时 {r.seconds:.1f} 秒{speed}")
        if r.repaired:
            lines.append(f"  修复：原索引中 {r.repaired} 个损坏的向量（非数值或为零）已重新计算，没有沿用")
        for label, names in (("新增", r.added), ("更新", r.changed), ("删除", r.removed)):
            for name in names[:LISTED]:
                lines.append(f"  {label}：{name}")
            if len(names) > LISTED:
                lines.append(f"  {label}：……另有 {len(names) - LISTED} 个（--json 列出全部）")
    if r.skipped:
        lines.append(f"  跳过 {len(r.skipped)} 个文件：")
        for s in r.skipped:
            lines.append(f"    {s.source}：{s.reason}")
    if r.warnings:
        lines.append(f"  请检查 {len(r.warnings)} 个文件：")
        for w in r.warnings:
            lines.append(f"    {w.source}：{w.reason}")
    return "\n".join(lines)


def search_json(query: str, results: list[SearchResult]) -> dict:
    return {"query": query, "results": [r.to_json() for r in results]}


def format_results(query: str, results: list[SearchResult]) -> str:
    from .highlight import mark, query_terms, snippet

    if not results:
        return f"没有找到与“{query}”相关的内容。"
    base = query_terms(query)
    on, off = ("\033[1;33m", "\033[0m") if color() else ("【", "】")
    out = []
    for r in results:
        terms = sorted(set(base) | {m["term"] for m in r.matched_terms if len(m["term"]) >= 2}, key=len, reverse=True)
        path = " › ".join([r.title, *r.section_path])
        meta = " · ".join(str(x) for x in (f"得分 {r.score:.2f}", r.year, r.region, r.source) if x)
        text, _ = snippet(r.text, terms)
        out.append(f"{r.rank}. {path}\n   {meta}\n   {mark(text, terms, on, off)}")
        if r.matched_terms:
            out[-1] += "\n   匹配：" + "、".join(matched_label(m) for m in r.matched_terms)
        if r.copies:
            out[-1] += "\n   相同段落也见于：" + "；".join(c.citation for c in r.copies)
    return "\n\n".join(out)


def matched_label(m: dict) -> str:
    return f"{m['term']}（由“{m['from']}”扩展）" if m.get("from") else m["term"]


