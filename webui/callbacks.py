"""What the 问答, 检索 and 文档 tabs do (管理 is admin.py, 先例 drafting.py). Every callback is small and maps errors to a message:
never a traceback on the page. Callbacks that change the library check the caller's role
on the server (`Access.require_admin`) and are written to the audit log."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import gradio as gr

from assistant.answers.followup import understand
from assistant.answers.record import Answer
from assistant.office.library import list_documents
from assistant.office.service import Service
from assistant.office.shelf import LibraryView, Shelf
from assistant.office.throttle import RateLimit
from assistant.present.render import (
    answer_html,
    conversation_html,
    document_html,
    esc,
    filter_notice,
    result_cards,
)
from assistant.search.collection import collection_of
from assistant.search.query import Filters, clean_query, query_notice
from assistant.search.series import previous_in_series
from indexer.errors import PolicyQAError

from .access import Access

log = logging.getLogger("policyqa.ui")
MAX_K = 50
MAX_TURNS = 20  # questions of one conversation kept on the page
FEEDBACK_BURST, FEEDBACK_PER_HOUR = 20, 120  # votes one user may give at once, and an hour
DOC_HEADERS = ["标题", "年份", "地区", "类型"]  # the rest is in the document's own header, below
INTERNAL_MARK = " 〔内部〕"  # after an internal document's name in the pickers of those who see it
# What `/list_documents` gives scripts: every field, the file and the document id included.
API_DOC_HEADERS = ["标题", "发文机关", "文号", "日期", "年份", "地区", "类型", "章节数", "文件", "文档ID"]
TARGET_HEADERS = ["数值", "所指", "出处"]


def years_of(values) -> set[int]:
    return {int(v) for v in values or [] if str(v).isdigit()}


def filters_of(years, regions, docs=None, current_only=False) -> Filters:
    return Filters(years=years_of(years), regions=set(regions or []), docs=set(docs or []),
                   current_only=bool(current_only))


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


def shown(render: Callable[[], str]) -> str:
    """What a page action shows: its HTML, or the refusal's or the failure's message (never a traceback)."""
    try:
        return render()
    except PolicyQAError as e:
        return message(str(e))
    except Exception as e:
        return unexpected(e)


class Page:
    """问答, 检索 and 文档: questions, conversations, feedback, documents."""

    def __init__(self, service: Service, access: Access, shelf: Shelf | None = None):
        self.service = service  # the journals, and the library that uploads and removals change
        self.access = access
        self.shelf = shelf or Shelf.single(service)
        self.votes = RateLimit(FEEDBACK_BURST, FEEDBACK_PER_HOUR)

    def reading(self, request) -> LibraryView:
        """What the caller may read: every document a callback shows comes from here."""
        return self.shelf.view(self.access.person(self.access.user(request)))

    # -- lists from the index as it is now -------------------------------------------------

    def _documents(self, request) -> tuple[list, frozenset[str]]:
        """The documents the caller may read, and which of them are internal (to label them)."""
        if request is None and self.shelf.several:
            return [], frozenset()  # the page as built, before anyone is known: its lists are filled on load
        view = self.reading(request)
        return list_documents(view.engine), view.internal_ids()

    def choices(self, request: gr.Request = None):
        try:
            docs, internal = self._documents(request)
        except PolicyQAError:
            return [], [], []
        years = sorted({str(d.year) for d in docs if d.year}, reverse=True)
        regions = sorted({d.region for d in docs if d.region})
        titles = [(f"{d.title}（{d.source}）" + (INTERNAL_MARK if d.doc_id in internal else ""), d.doc_id) for d in docs]
        return years, regions, titles

    def table(self, request: gr.Request = None) -> list[list]:
        try:
            docs, internal = self._documents(request)
        except PolicyQAError:
            return []
        return [[d.title, d.year or "", d.region, d.doc_type + (" · 扫描件" if d.ocr_pages else "")
                 + (" · 内部" if d.doc_id in internal else "")] for d in docs]

    def documents(self, request: gr.Request = None) -> list[list]:
        """Every indexed document with all its fields, for scripts."""
        try:
            docs, _ = self._documents(request)
        except PolicyQAError:
            return []
        return [[d.title, d.org, d.doc_number, d.date, d.year or "", d.region, d.doc_type, d.sections, d.source,
                 d.doc_id] for d in docs]

    def lists(self, request: gr.Request = None) -> tuple:
        """Every list of the page, as the index is now: the table, the filters of both tabs,
        the document pickers; and the index's stamp, to notice the next change. Removed
        documents are listed to those who may change their library."""
        years, regions, titles = self.choices(request)
        removed = self._removed_choices(request)
        return (self._stamp(request), self.table(request),
                gr.update(choices=years), gr.update(choices=regions), gr.update(choices=titles),
                gr.update(choices=years), gr.update(choices=regions), gr.update(choices=titles),
                gr.update(choices=titles), gr.update(choices=titles, value=None), gr.update(choices=removed, value=None),
                gr.update(choices=titles), gr.update(choices=titles), gr.update(choices=titles))

    def lists_if_changed(self, seen: str, request: gr.Request = None) -> tuple:
        """After any action: the lists again if a rebuild landed since this tab last saw them
        (an upload or a removal in another tab), else nothing changes."""
        if seen == self._stamp(request):
            return (seen, *(gr.update() for _ in range(13)))
        return self.lists(request)

    def _stamp(self, request) -> str:
        try:
            return self.reading(request).stamp()
        except PolicyQAError:
            return "none"

    def editable(self, request) -> list[str]:
        """The libraries the caller may change (the 管理 tab shows for them)."""
        return self.shelf.editable(self.access.person(self.access.user(request)))

    def _removed_choices(self, request) -> list[tuple[str, str]]:
        """Removed files of every library the caller may change; the value names the library."""
        choices = []
        for name in self.editable(request):
            try:
                removed = self.shelf.services[name].removed()
            except PolicyQAError:
                continue
            label = f"［{name}］" if self.shelf.several else ""
            choices += [(f"{label}{e.source}（{e.time} 移除）", f"{name}/{e.stored}") for e in removed]
        return choices

    def on_load(self, request: gr.Request):
        admin = self.access.is_admin(request)
        editable = self.editable(request)
        who = self.access.user(request)
        role = "管理员" if admin else "编辑" if editable else "读者"
        logged_in = self.access.enabled and bool(who)
        greeting = (f'<p class="pq-status">已登录：{esc(who)}（{role}）· '
                    f'<a href="logout?all_session=false" id="pq-logout">退出登录</a></p>') if logged_in else ""
        own_account = logged_in and self.access.users is not None and self.access.users.get(who) is not None
        target = gr.update(choices=editable, value=editable[0] if editable else None,
                           visible=self.shelf.several and bool(editable))
        return (*self.lists(request), gr.update(visible=bool(editable)), greeting, gr.update(visible=own_account),
                target, gr.update(visible=admin))

    def change_password(self, current: str, new: str, repeated: str, request: gr.Request = None):
        """The user's own password; on success the page logs out (every session of theirs ended)."""
        blank = gr.update(value="")
        try:
            self.access.change_password(self.access.user(request), current or "", new or "", repeated or "")
        except PolicyQAError as e:
            return status(str(e)), "", blank, blank, blank
        return status("密码已修改，请用新密码重新登录。"), "done", blank, blank, blank

    # -- 问答 --------------------------------------------------------------------------------

    def _answers(self, question: str, filters: Filters, user: str = "", request=None):
        """The answer as it is written (one yield, or several while a language model streams)."""
        answer: Answer | None = None
        for answer in self.reading(request).ask(question or "", k=5, filters=filters):
            yield answer
        if answer is not None and answer.status == "not_found":
            try:
                self.service.feedback.unanswered(answer.question, user)
            except PolicyQAError as e:
                log.warning("反馈记录失败：%s", e)

    def ask(self, question: str, years: list, regions: list, docs: list, follow_up_of: str = "",
            current_only: bool = False, request: gr.Request = None):
        """The API: an answer and its passages; `follow_up_of` continues a previous question."""
        try:
            understood, follow = understand(clean_query(question), clean_query(follow_up_of) or None)
            lead = notice(question) + (_understood(understood) if follow else "")
            filters = filters_of(years, regions, docs, current_only)
            for answer in self._answers(understood, filters, self.access.user(request), request):
                passages = result_cards(answer.question, answer.passages) if answer.status == "ok" else ""
                yield lead + answer_html(answer), passages
        except PolicyQAError as e:
            yield message(str(e)), ""
        except Exception as e:  # never a traceback on the page
            yield unexpected(e), ""

    def converse(self, question: str, years: list, regions: list, docs: list, history: list,
                 request: gr.Request = None, current_only: bool = False):
        """The page's 问答: a conversation whose follow-ups (`那2024年呢`) go on from the question
        before, shown as understood, with the earlier questions and answers kept above. The
        conversation belongs to the user who had it: another user's session never sees it."""
        user = self.access.user(request)
        history = own_turns(history, user)
        previous = history[-1]["understood"] if history else None
        filters = filters_of(years, regions, docs, current_only)
        try:
            asked = clean_query(question)  # what is kept of a question: at most MAX_QUERY_CHARS
            understood, follow = understand(asked, previous)
            lead = notice(question) + (_understood(understood) if follow else "")
            answer = None
            for answer in self._answers(understood, filters, user, request):
                passages = result_cards(answer.question, answer.passages) if answer.status == "ok" else ""
                yield (lead + answer_html(answer), filter_notice(filters) + passages, conversation_html(history),
                       history, understood, gr.update(visible=answer.status == "ok"), "")
            if answer is not None and asked:
                turn = {"user": user, "question": asked, "understood": understood, "status": answer.status,
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
        """有用 / 没用 on an answer, with an optional comment; a user's votes are rate-limited."""
        if not (question or "").strip():
            return status("请先提问，再评价回答。")
        wait = self.votes.take(self.access.user(request) or client_address(request))
        if wait:
            return status(f"评价过于频繁，请 {math.ceil(wait)} 秒后再试。")
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

    def search(self, query: str, k: float, years: list, regions: list, docs: list | None = None,
               current_only: bool = False, request: gr.Request = None) -> str:
        def shown_results() -> str:
            filters = filters_of(years, regions, docs, current_only)
            results = self.reading(request).search(query, k=bounded_k(k), filters=filters)
            return notice(query) + filter_notice(filters) + result_cards(clean_query(query), results)

        return shown(shown_results)

    @staticmethod
    def clear_filters():
        return [], [], [], False

    # -- 文档 --------------------------------------------------------------------------------

    def show(self, doc_id: str, section_key: str = "", request: gr.Request = None) -> str:
        if not doc_id:
            return message("请在上表中点选一个文档，或从“查看文档”中选择。")
        return shown(lambda: document_html(self.reading(request).engine, doc_id, section_key or ""))

    def series_pair(self, doc_id: str, request: gr.Request = None):
        """The change list's two documents for a document of a series: the plan it follows, and it."""
        try:
            earlier = previous_in_series(collection_of(self.reading(request).engine).series, doc_id or "")
        except PolicyQAError:
            earlier = None
        if not earlier:
            return gr.update(), gr.update()
        return gr.update(value=earlier), gr.update(value=doc_id)

    def pick_row(self, evt: gr.SelectData, request: gr.Request = None):
        try:
            docs = self.reading(request).engine.documents()
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
        return gr.Tabs(selected="docs"), gr.update(value=doc_id), self.show(doc_id, key, request)


def own_turns(history, user: str) -> list[dict]:
    """The turns of a conversation that belong to `user` (a session reused by another login,
    or a state sent by a script, starts afresh)."""
    return [t for t in (history or [])[-MAX_TURNS:] if isinstance(t, dict) and t.get("user", "") == user
            and isinstance(t.get("understood"), str)]


def client_address(request) -> str:
    client = getattr(request, "client", None) if request is not None else None
    return getattr(client, "host", "") or "?"


def _understood(text: str) -> str:
    return f'<div class="pq-understood">理解为：{esc(text)}</div>'


def _progress(progress):
    def update(stage: str, done: int, total: int) -> None:
        progress((done, max(total, 1)), desc=stage)

    return update
