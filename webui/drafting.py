"""The 先例 tab: precedents, comparisons, the draft check and their exports."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from assistant.drafting.changes import changes_between
from assistant.drafting.compare import compare_sections
from assistant.drafting.draft import check_draft, read_draft
from assistant.drafting.export import change_blocks, comparison_blocks, draft_blocks, precedent_blocks, write
from assistant.drafting.precedents import find_precedents
from assistant.office.shelf import LibraryView
from assistant.present.render import (
    changes_html,
    comparison_html,
    draft_html,
    precedents_html,
)
from assistant.search.inputs import topic_notice
from assistant.search.query import QueryError
from indexer.errors import PolicyQAError

from .callbacks import filters_of, message, shown, status, unexpected

log = logging.getLogger("policyqa.ui")


class Drafting:
    """先例: precedents, comparison, draft check, export."""

    def __init__(self, reading: Callable[[object], LibraryView]):
        self.reading = reading  # what the caller may read (Page.reading)

    def precedents(self, text: str, years: list, regions: list, current_only: bool = False,
                   request: gr.Request = None):
        try:
            if not (text or "").strip():
                raise QueryError("请输入主题或粘贴一段草稿，例如：党建品牌创建")
            ps = find_precedents(self.reading(request).answerer(), text, filters_of(years, regions, current_only=current_only))
        except PolicyQAError as e:
            return status(str(e)), message(str(e)), [], gr.update(choices=[]), gr.update(choices=[])
        except Exception as e:
            return status("出错了"), unexpected(e), [], gr.update(choices=[]), gr.update(choices=[])
        choices = [(f"{r.year or ''} {r.region} › {r.section_path[-1]}", r.section_id) for r in ps.sections()]
        rows = [[t.value, t.counts, t.citation] for t in ps.targets]
        first, second = default_pair(ps)
        return (status(topic_notice(text), ps.coverage_line()), precedents_html(ps), rows,
                gr.update(choices=choices, value=first), gr.update(choices=choices, value=second))

    def compare(self, first: str, second: str, request: gr.Request = None) -> str:
        if not first or not second:
            return message("请选择或填写两个章节 ID（形如 文档ID#3.7）。")
        return shown(lambda: comparison_html(compare_sections(self.reading(request).engine, first, second)))

    def changes(self, before: str, after: str, request: gr.Request = None) -> str:
        """What changed from one document (an older plan) to another: items added, dropped,
        reworded, targets changed."""
        if not before or not after:
            return message("请选择两份文件：较早的和较新的（同一计划的两个年份最有意义）。")
        return shown(lambda: changes_html(changes_between(self.reading(request).engine, before, after)))

    def export_changes(self, before: str, after: str, fmt: str, request: gr.Request = None):
        if not before or not after:
            return None, message("请选择两份文件。")
        try:
            blocks = change_blocks(changes_between(self.reading(request).engine, before, after))
            return str(write(blocks, export_path("变化", fmt))), gr.update()
        except PolicyQAError as e:
            return None, message(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, message(f"导出失败：内部错误（{type(e).__name__}）")

    def draft_check(self, text: str, file, request: gr.Request = None) -> str:
        def checked() -> str:
            draft = read_draft(file if isinstance(file, str) else file.name) if file else text
            return draft_html(check_draft(self.reading(request).answerer(), draft or ""))

        return shown(checked)

    def export(self, text: str, years: list, regions: list, first: str, second: str, fmt: str,
               current_only: bool = False, request: gr.Request = None):
        """The precedent set (and the comparison, when two sections are chosen) as a file."""
        try:
            if not (text or "").strip():
                raise QueryError("请先输入主题")
            filters = filters_of(years, regions, current_only=current_only)
            blocks = precedent_blocks(find_precedents(self.reading(request).answerer(), text, filters))
            if first and second:
                blocks += comparison_blocks(compare_sections(self.reading(request).engine, first, second))
            return str(write(blocks, export_path("先例", fmt))), ""
        except PolicyQAError as e:
            return None, status(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, status(f"导出失败：内部错误（{type(e).__name__}）")

    def export_draft(self, text: str, file, fmt: str, request: gr.Request = None):
        try:
            if file:
                text = read_draft(file if isinstance(file, str) else file.name)
            report = check_draft(self.reading(request).answerer(), text or "")
            return str(write(draft_blocks(report), export_path("草稿检查", fmt))), ""
        except PolicyQAError as e:
            return None, status(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, status(f"导出失败：内部错误（{type(e).__name__}）")


def default_pair(ps) -> tuple[str | None, str | None]:
    """What to compare first: the two latest plans of one region (what changed from
    year to year), else the oldest and the newest precedent."""
    if ps.series:  # the latest two years of a plan's series
        latest = max(ps.series, key=lambda t: t.sections[-1].year or 0).sections
        return latest[-2].section_id, latest[-1].section_id
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


def export_path(stem: str, fmt: str) -> Path:
    suffix = ".docx" if str(fmt).lower().lstrip(".") in ("docx", "word") else ".md"
    # in the server's page-files folder (webui/server.py), emptied by age
    folder = Path(tempfile.mkdtemp(prefix="policyqa-export-", dir=os.environ.get("GRADIO_TEMP_DIR")))
    return folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"

