"""What each action of the page does. Every callback is small and maps errors to a message:
never a traceback on the page. Callbacks that change the library check the caller's role
on the server (`Access.require_admin`) and are written to the audit log."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import gradio as gr

from assistant.answer import Answer
from assistant.compare import compare_sections
from assistant.draft import check_draft, read_draft
from assistant.export import comparison_blocks, draft_blocks, precedent_blocks, write
from assistant.followup import understand
from assistant.inputs import topic_notice
from assistant.library import KEEP_BOTH, REPLACE, list_documents
from assistant.precedents import find_precedents
from assistant.query import Filters, QueryError, clean_query, query_notice
from assistant.render import (
    answer_html,
    comparison_html,
    conversation_html,
    document_html,
    draft_html,
    esc,
    filter_notice,
    precedents_html,
    result_cards,
)
from assistant.service import Service
from indexer.errors import PolicyQAError

from .access import Access

log = logging.getLogger("policyqa.ui")
MAX_K = 50
MAX_TURNS = 20  # questions of one conversation kept on the page
DOC_HEADERS = ["标题", "年份", "地区", "类型"]  # the rest is in the document's own header, below
# What `/list_documents` gives scripts: every field, the file and the document id included.
API_DOC_HEADERS = ["标题", "发文机关", "文号", "日期", "年份", "地区", "类型", "章节数", "文件", "文档ID"]
TARGET_HEADERS = ["数值", "所指", "出处"]


def years_of(values) -> set[int]:
    return {int(v) for v in values or [] if str(v).isdigit()}


def filters_of(years, regions, docs=None) -> Filters:
    return Filters(years=years_of(years), regions=set(regions or []), docs=set(docs or []))


def message(text: str) -> str:
    return f'<div class="pq-empty">{esc(text)}</div>'


def status(*lines: str) -> str:
    """Status lines as text: file names and titles never become links or markup."""
    return "".join(f'<p class="pq-status">{esc(line)}</p>' for line in lines if line)


def bounded_k(k) -> int:
    try:
        return max(1, min(MAX_K, int(float(k))))
    except (TypeError, ValueError):
        return 5


def notice(query: str | None) -> str:
    text = query_notice(query)
    return message(text) if text else ""


def unexpected(e: Exception) -> str:
    log.exception("unexpected error")
    return message(f"内部错误（{type(e).__name__}），请稍后再试或联系管理员。")


class Page:
    """问答, 检索 and 文档: questions, conversations, feedback, documents."""

    def __init__(self, service: Service, access: Access):
        self.service = service
        self.access = access

    # -- lists from the index as it is now -------------------------------------------------

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
        return [[d.title, d.year or "", d.region, d.doc_type + (" · 扫描件" if d.ocr_pages else "")] for d in docs]

    def documents(self) -> list[list]:
        """Every indexed document with all its fields, for scripts."""
        try:
            docs = list_documents(self.service.engine)
        except PolicyQAError:
            return []
        return [[d.title, d.org, d.doc_number, d.date, d.year or "", d.region, d.doc_type, d.sections, d.source,
                 d.doc_id] for d in docs]

    def lists(self) -> tuple:
        """Every list of the page, as the index is now: the table, the filters of both tabs,
        the document pickers; and the index's stamp, to notice the next change."""
        years, regions, titles = self.choices()
        removed = self._removed_choices()
        return (self.service.stamp(), self.table(),
                gr.update(choices=years), gr.update(choices=regions), gr.update(choices=titles),
                gr.update(choices=years), gr.update(choices=regions), gr.update(choices=titles),
                gr.update(choices=titles), gr.update(choices=titles, value=None), gr.update(choices=removed, value=None))

    def lists_if_changed(self, seen: str) -> tuple:
        """After any action: the lists again if a rebuild landed since this tab last saw them
        (an upload or a removal in another tab), else nothing changes."""
        if seen == self.service.stamp():
            return (seen, *(gr.update() for _ in range(10)))
        return self.lists()

    def _removed_choices(self) -> list[tuple[str, str]]:
        try:
            return [(f"{e.source}（{e.time} 移除）", e.stored) for e in self.service.removed()]
        except PolicyQAError:
            return []

    def on_load(self, request: gr.Request):
        admin = self.access.is_admin(request)
        who = self.access.user(request)
        role = "管理员" if admin else "读者"
        greeting = f"已登录：{who}（{role}）" if self.access.enabled and who else ""
        return (*self.lists(), gr.update(visible=admin), status(greeting))

    # -- 问答 --------------------------------------------------------------------------------

    def _answers(self, question: str, filters: Filters, user: str = ""):
        """The answer as it is written (one yield, or several while a language model streams)."""
        answer: Answer | None = None
        for answer in self.service.ask(question or "", k=5, filters=filters):
            yield answer
        if answer is not None and answer.status == "not_found":
            try:
                self.service.feedback.unanswered(answer.question, user)
            except PolicyQAError as e:
                log.warning("反馈记录失败：%s", e)

    def ask(self, question: str, years: list, regions: list, docs: list, follow_up_of: str = "",
            request: gr.Request = None):
        """The API: an answer and its passages; `follow_up_of` continues a previous question."""
        try:
            understood, follow = understand(question or "", follow_up_of or None)
            lead = notice(question) + (_understood(understood) if follow else "")
            for answer in self._answers(understood, filters_of(years, regions, docs), self.access.user(request)):
                passages = result_cards(answer.question, answer.passages) if answer.status == "ok" else ""
                yield lead + answer_html(answer), passages
        except PolicyQAError as e:
            yield message(str(e)), ""
        except Exception as e:  # never a traceback on the page
            yield unexpected(e), ""

    def converse(self, question: str, years: list, regions: list, docs: list, history: list,
                 request: gr.Request = None):
        """The page's 问答: a conversation whose follow-ups (`那2024年呢`) go on from the question
        before, shown as understood, with the earlier questions and answers kept above."""
        history = list(history or [])
        previous = history[-1]["understood"] if history else None
        filters = filters_of(years, regions, docs)
        try:
            understood, follow = understand(question or "", previous)
            lead = notice(question) + (_understood(understood) if follow else "")
            answer = None
            for answer in self._answers(understood, filters, self.access.user(request)):
                passages = result_cards(answer.question, answer.passages) if answer.status == "ok" else ""
                yield (lead + answer_html(answer), filter_notice(filters) + passages, conversation_html(history),
                       history, understood, gr.update(visible=answer.status == "ok"), "")
            if answer is not None and (question or "").strip():
                turn = {"question": question.strip(), "understood": understood, "status": answer.status,
                        "html": lead + answer_html(answer)}
                history = (history + [turn])[-MAX_TURNS:]
                yield (gr.update(), gr.update(), conversation_html(history[:-1]), history, understood,
                       gr.update(), "")
        except PolicyQAError as e:
            yield message(str(e)), "", conversation_html(history), history, "", gr.update(visible=False), ""
        except Exception as e:
            yield unexpected(e), "", conversation_html(history), history, "", gr.update(visible=False), ""

    @staticmethod
    def clear_conversation():
        return "", "", "", [], "", gr.update(visible=False), ""

    def feedback(self, question: str, vote: str, comment: str, request: gr.Request = None) -> str:
        """有用 / 没用 on an answer, with an optional comment."""
        if not (question or "").strip():
            return status("请先提问，再评价回答。")
        try:
            self.service.feedback.vote(question, vote == "有用", comment or "", self.access.user(request),
                                       understood=question)
        except PolicyQAError as e:
            return status(str(e))
        return status("谢谢，已记录。" + ("管理员会据此补充词表和文件。" if vote != "有用" else ""))

    def useful(self, question: str, comment: str, request: gr.Request = None) -> str:
        return self.feedback(question, "有用", comment, request)

    def useless(self, question: str, comment: str, request: gr.Request = None) -> str:
        return self.feedback(question, "没用", comment, request)

    # -- 检索 --------------------------------------------------------------------------------

    def search(self, query: str, k: float, years: list, regions: list, docs: list | None = None) -> str:
        try:
            filters = filters_of(years, regions, docs)
            results = self.service.search(query, k=bounded_k(k), filters=filters)
            return notice(query) + filter_notice(filters) + result_cards(clean_query(query), results)
        except PolicyQAError as e:
            return message(str(e))
        except Exception as e:
            return unexpected(e)

    @staticmethod
    def clear_filters():
        return [], [], []

    # -- 文档 --------------------------------------------------------------------------------

    def show(self, doc_id: str, section_key: str = "") -> str:
        if not doc_id:
            return message("请在上表中点选一个文档，或从“查看文档”中选择。")
        try:
            return document_html(self.service.engine, doc_id, section_key or "")
        except PolicyQAError as e:
            return message(str(e))
        except Exception as e:
            return unexpected(e)

    def pick_row(self, evt: gr.SelectData):
        try:
            docs = self.service.engine.documents()
            doc_id = docs[evt.index[0]].doc_id if evt is not None and evt.index else ""
        except (PolicyQAError, IndexError, TypeError):
            doc_id = ""
        return gr.update(value=doc_id or None), self.show(doc_id)

    def from_link(self, request: gr.Request):
        """`?doc=…&section=…` opens that section in its document."""
        params = dict(request.query_params) if request is not None else {}
        doc_id, key = params.get("doc", ""), params.get("section", "")
        if not doc_id:
            return gr.update(), gr.update(), gr.update()
        return gr.Tabs(selected="docs"), gr.update(value=doc_id), self.show(doc_id, key)


def _understood(text: str) -> str:
    return f'<div class="pq-understood">理解为：{esc(text)}</div>'


class Admin:
    """管理: uploads, removal with confirmation, restore, rebuild, the audit log, feedback.
    Every action checks on the server that the caller is an administrator."""

    def __init__(self, service: Service, access: Access, page: Page):
        self.service = service
        self.access = access
        self.page = page

    def _refused(self, e: Exception, what: str) -> tuple:
        if isinstance(e, PolicyQAError):
            return (status(f"{what}失败：{e}"), *self.page.lists())
        log.exception("%s failed", what)
        return (status(f"{what}失败：内部错误（{type(e).__name__}）"), *self.page.lists())

    def upload(self, files, same_name: str = KEEP_BOTH, request: gr.Request = None,
               progress=gr.Progress()):  # noqa: B008 - how Gradio injects progress
        try:
            user = self.access.require_admin(request)
            if not files:
                return (status("请先选择要上传的文件。"), *self.page.lists(), gr.update())
            pairs = [(Path(f), Path(f).name) for f in (files if isinstance(files, list) else [files])]
            on_conflict = REPLACE if same_name == REPLACE else KEEP_BOTH
            uploads, report = self.service.upload(pairs, progress=_progress(progress), on_conflict=on_conflict)
        except Exception as e:
            return (*self._refused(e, "上传"), gr.update())
        for u in uploads:
            self.access.record("upload", user=user, document=u.saved_as or u.name, outcome=u.action,
                               reason=u.reason)
        lines = [u.message() for u in uploads]
        if report is not None:
            lines.append(f"索引现有 {report.documents} 个文档、{report.sections} 个章节（新增 {len(report.added)}，"
                         f"更新 {len(report.changed)}，新计算向量 {report.embedded} 个）。")
            lines += [f"注意 {w.source}：{w.reason}" for w in report.warnings]
        return (status(*lines), *self.page.lists(), None)  # the file list is cleared

    def confirm_removal(self, doc_id: str, request: gr.Request = None):
        """The first step of a removal: ask, naming the document (confirm box, its text, status)."""
        try:
            self.access.require_admin(request)
        except PolicyQAError as e:
            return gr.update(visible=False), "", status(str(e))
        doc = self.service.engine.document(doc_id) if doc_id else None
        if doc is None:
            return gr.update(visible=False), "", status("请先选择要移除的文档。")
        return (gr.update(visible=True),
                status(f"确定要从索引移除《{doc.title}》（{doc.source}）吗？文件将移到文档文件夹的 .removed/，之后可以恢复。"),
                "")

    @staticmethod
    def cancel_removal():
        return gr.update(visible=False), "", status("已取消，没有移除任何文档。")

    def remove(self, doc_id: str, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        try:
            user = self.access.require_admin(request)
            if not doc_id:
                return (status("请选择要移除的文档。"), *self.page.lists(), gr.update(visible=False))
            removed, report = self.service.remove(doc_id, progress=_progress(progress), user=user)
        except Exception as e:
            return (*self._refused(e, "移除"), gr.update(visible=False))
        self.access.record("remove", user=user, document=removed.source, stored=removed.stored)
        return (status(f"已从索引移除：{removed.source}（文件已移到文档文件夹的 .removed/{removed.stored}，可在下方恢复）。"
                       f"索引现有 {report.documents} 个文档。"), *self.page.lists(), gr.update(visible=False))

    def restore(self, stored: str, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        try:
            user = self.access.require_admin(request)
            if not stored:
                return (status("请选择要恢复的文档。"), *self.page.lists())
            source, report = self.service.restore(stored, progress=_progress(progress))
        except Exception as e:
            return self._refused(e, "恢复")
        self.access.record("restore", user=user, document=source, stored=stored)
        return (status(f"已恢复：{source}，并重新加入索引。索引现有 {report.documents} 个文档。"), *self.page.lists())

    def rebuild(self, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        """Index the corpus folder again (files added or changed by hand are picked up)."""
        try:
            user = self.access.require_admin(request)
            report = self.service.reindex(_progress(progress))
        except Exception as e:
            return self._refused(e, "重建索引")
        self.access.record("rebuild", user=user, added=len(report.added), changed=len(report.changed),
                           removed=len(report.removed))
        state = "索引已是最新" if report.up_to_date else (
            f"已更新索引：新增 {len(report.added)}，更新 {len(report.changed)}，删除 {len(report.removed)}")
        return (status(f"{state}；现有 {report.documents} 个文档。"), *self.page.lists())

    def audit(self, request: gr.Request = None) -> list[list]:
        try:
            self.access.require_admin(request)
            rows = self.service.audit.latest()
        except PolicyQAError as e:
            return [["", "", str(e), "", ""]]
        return [[r.get("time", ""), r.get("user", ""), _ACTIONS.get(r.get("action", ""), r.get("action", "")),
                 r.get("document", ""), _details(r)] for r in rows]

    def improvements(self, request: gr.Request = None) -> list[list]:
        try:
            self.access.require_admin(request)
            rows = self.service.feedback.to_improve()
        except PolicyQAError as e:
            return [[str(e), "", "", ""]]
        return [[r["question"], r["times"], r["why"], "；".join(r["comments"])] for r in rows]


_ACTIONS = {"login": "登录", "login_failed": "登录失败", "login_throttled": "登录被限制", "upload": "上传",
            "remove": "移除", "restore": "恢复", "rebuild": "重建索引"}


def _details(row: dict) -> str:
    skip = {"time", "user", "action", "document"}
    return "，".join(f"{k}={v}" for k, v in row.items() if k not in skip and v not in ("", None))


class Drafting:
    """先例: precedents, comparison, draft check, export."""

    def __init__(self, service: Service):
        self.service = service

    def precedents(self, text: str, years: list, regions: list):
        try:
            if not (text or "").strip():
                raise QueryError("请输入主题或粘贴一段草稿，例如：党建品牌创建")
            ps = find_precedents(self.service.answerer(), text, filters_of(years, regions))
        except PolicyQAError as e:
            return status(str(e)), message(str(e)), [], gr.update(choices=[]), gr.update(choices=[])
        except Exception as e:
            return status("出错了"), unexpected(e), [], gr.update(choices=[]), gr.update(choices=[])
        choices = [(f"{r.year or ''} {r.region} › {r.section_path[-1]}", r.section_id) for r in ps.sections()]
        rows = [[t.value, t.counts, t.citation] for t in ps.targets]
        first, second = default_pair(ps)
        return (status(topic_notice(text), ps.coverage_line()), precedents_html(ps), rows,
                gr.update(choices=choices, value=first), gr.update(choices=choices, value=second))

    def compare(self, first: str, second: str) -> str:
        if not first or not second:
            return message("请选择或填写两个章节 ID（形如 文档ID#3.7）。")
        try:
            return comparison_html(compare_sections(self.service.engine, first, second))
        except PolicyQAError as e:
            return message(str(e))
        except Exception as e:
            return unexpected(e)

    def draft_check(self, text: str, file) -> str:
        try:
            if file:
                text = read_draft(file if isinstance(file, str) else file.name)
            return draft_html(check_draft(self.service.answerer(), text or ""))
        except PolicyQAError as e:
            return message(str(e))
        except Exception as e:
            return unexpected(e)

    def export(self, text: str, years: list, regions: list, first: str, second: str, fmt: str):
        """The precedent set (and the comparison, when two sections are chosen) as a file."""
        try:
            if not (text or "").strip():
                raise QueryError("请先输入主题")
            blocks = precedent_blocks(find_precedents(self.service.answerer(), text, filters_of(years, regions)))
            if first and second:
                blocks += comparison_blocks(compare_sections(self.service.engine, first, second))
            return str(write(blocks, export_path("先例", fmt))), ""
        except PolicyQAError as e:
            return None, status(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, status(f"导出失败：内部错误（{type(e).__name__}）")

    def export_draft(self, text: str, file, fmt: str):
        try:
            if file:
                text = read_draft(file if isinstance(file, str) else file.name)
            report = check_draft(self.service.answerer(), text or "")
            return str(write(draft_blocks(report), export_path("草稿检查", fmt))), ""
        except PolicyQAError as e:
            return None, status(str(e))
        except Exception as e:
            log.exception("export failed")
            return None, status(f"导出失败：内部错误（{type(e).__name__}）")


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


def export_path(stem: str, fmt: str) -> Path:
    suffix = ".docx" if str(fmt).lower().lstrip(".") in ("docx", "word") else ".md"
    folder = Path(tempfile.mkdtemp(prefix="policyqa-export-"))
    return folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"


def _progress(progress):
    def update(stage: str, done: int, total: int) -> None:
        progress((done, max(total, 1)), desc=stage)

    return update
