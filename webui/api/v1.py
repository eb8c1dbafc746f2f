"""The JSON API under /api/v1/: the records the CLI prints with `--json` (assistant/interfaces/
records.py), described at /api/v1/openapi.json and browsable at /api/v1/docs.

Routes are plain functions (FastAPI runs them in its thread pool): each checks the caller
(auth.Gate), calls one function of assistant/, and returns its record. Errors are JSON
`{"error": {"code": …, "message": "…"}}` with the status that fits.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.answers.followup import understand
from assistant.drafting.changes import changes_between
from assistant.drafting.compare import compare_sections
from assistant.drafting.draft import check_draft
from assistant.drafting.precedents import find_precedents
from assistant.interfaces.records import (
    RECORDS_VERSION,
    answer_record,
    document_tree,
    documents_records,
    search_record,
    section_record,
)
from assistant.office.library import KEEP_BOTH, MAX_UPLOAD_BYTES, REPLACE
from assistant.office.service import Service
from assistant.office.shelf import LibraryView, Refused, Shelf
from assistant.office.visibility import PUBLIC, visibility_of
from assistant.search.query import Filters, QueryError, clean_query
from indexer.errors import PolicyQAError

from ..access import Access
from .auth import ApiError, Caller, Gate
from .workers import QUESTIONS, run_question

log = logging.getLogger("policyqa.api")
MAX_K = 50
BUILD_LOCK = threading.Lock()  # one build at a time through the API


class Scoped(BaseModel):
    years: list[int] = Field(default_factory=list, description="只用这些年份的文件", examples=[[2023]])
    regions: list[str] = Field(default_factory=list, description="只用这些地区（及其下级）的文件", examples=[["武进区"]])
    docs: list[str] = Field(default_factory=list, description="只用这些文档（文档 ID）")
    current_only: bool = Field(False, description="只用现行有效的文件")

    def filters(self) -> Filters:
        return Filters(years=set(self.years), regions=set(self.regions), docs=set(self.docs),
                       current_only=self.current_only)


class SearchBody(Scoped):
    query: str = Field(..., max_length=2000, examples=["近视防控"])
    k: int = Field(5, ge=1, le=MAX_K)


class AskBody(Scoped):
    question: str = Field(..., max_length=2000, examples=["近视防控有什么目标"])
    follow_up_of: str = Field("", max_length=2000, description="上一个问题：本问题按它的追问理解（如“那2024年呢”）")
    k: int = Field(5, ge=1, le=20)
    stream: bool = Field(False, description="以 server-sent events 逐步返回")


class TopicBody(Scoped):
    topic: str = Field(..., max_length=20000, examples=["党建品牌创建"])


class PairBody(BaseModel):
    first: str = Field(..., description="较早的（章节 ID 或文档 ID）")
    second: str = Field(..., description="较新的")


class DraftBody(BaseModel):
    text: str = Field(..., max_length=500_000)


class FeedbackBody(BaseModel):
    question: str = Field(..., max_length=2000)
    useful: bool
    comment: str = Field("", max_length=2000)


class RestoreBody(BaseModel):
    stored: str = Field(..., description="已移除文件在 .removed/ 中的名称（GET /admin/removed 列出）")
    library: str | None = Field(None, description="它所在的库（默认：调用者可编辑的第一个库）")


class VisibilityBody(BaseModel):
    visibility: str = Field(..., description="internal（内部）或 public（公开）", examples=["internal"])


class Record(JSONResponse):
    """A record as JSON, Chinese as itself. Routes return one rather than a dict: FastAPI would
    otherwise walk every field of a large record (jsonable_encoder) before writing it. orjson
    (Gradio's own) writes it in a fifth of the time; the standard library takes what it refuses."""

    def render(self, content) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request, e: ApiError):
        return error_response(e.status, e.code, e.message, e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, e: RequestValidationError):
        where = "；".join(f"{'.'.join(str(x) for x in err.get('loc', [])[1:]) or '请求体'}：{err.get('msg', '')}"
                         for err in e.errors()[:5])
        return error_response(400, "bad_request", f"请求格式不对：{where}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, e: StarletteHTTPException):
        messages = {404: "没有这个接口（见 /api/v1/docs）", 405: "该接口不支持这种请求方法"}
        return error_response(e.status_code, "not_found" if e.status_code == 404 else "http_error",
                              messages.get(e.status_code, str(e.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(request, e: Exception):
        log.exception("API error")
        return error_response(500, "internal", f"内部错误（{type(e).__name__}），请稍后再试或联系管理员")


def _call(fn):
    """A library call, its refusals as JSON errors: not found → 404, bad input → 400."""
    try:
        return fn()
    except LookupError as e:
        if isinstance(e, PolicyQAError):
            raise ApiError(404, "not_found", str(e)) from e
        raise
    except QueryError as e:
        raise ApiError(400, "bad_request", str(e)) from e
    except Refused as e:
        raise ApiError(403, "forbidden", str(e)) from e
    except PolicyQAError as e:
        raise ApiError(400, "refused", str(e)) from e


def build_api(service: Service, access: Access, gate: Gate, shelf: Shelf | None = None) -> FastAPI:
    """The routes over `service` (journals, the library that uploads change) and what each caller
    may read of `shelf` (every route that reaches a document goes through `reading`)."""
    shelf = shelf or Shelf.single(service)

    def reading(caller: Caller) -> LibraryView:
        return shelf.view(access.person(caller.user))

    app = FastAPI(title="policyqa API", version=f"{RECORDS_VERSION}.0",
                  description="政策文件检索与问答的 JSON 接口。记录与命令行 `--json` 的输出相同。"
                              "认证：`Authorization: Bearer pqa-…`（policyqa key create 建立），或页面登录后的会话。",
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    install_error_handlers(app)

    def audit(caller: Caller, action: str, **detail) -> None:
        access.record(action, user=caller.user, **caller.audit_detail(), **detail)

    # -- questions ----------------------------------------------------------------------

    @app.post("/search", summary="检索段落", tags=["问答"])
    async def search(body: SearchBody, request: Request) -> dict:
        view = reading(gate.caller(request, "ask"))
        query = clean_query(body.query)
        return await run_question(
            lambda: Record(_call(lambda: search_record(query, view.search(query, k=body.k, filters=body.filters())))),
            short=True)

    @app.post("/ask", summary="提问：注明出处的回答（stream=true 时以 SSE 逐步返回）", tags=["问答"])
    def ask(body: AskBody, request: Request):
        caller = gate.caller(request, "ask")
        understood, _ = understand(clean_query(body.question), clean_query(body.follow_up_of) or None)
        if not understood:
            raise ApiError(400, "bad_request", "问题为空，例如：发展党员有哪些要求")
        answers = reading(caller).ask(understood, k=body.k, filters=body.filters())
        if body.stream:
            return StreamingResponse(_events(answers), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        with QUESTIONS:
            answer = _call(lambda: _last(answers))
        _note_unanswered(service, answer, caller)
        return Record(answer_record(answer))

    # -- documents ----------------------------------------------------------------------

    @app.get("/documents", summary="全部文件及其元数据、效力与系列", tags=["文件"])
    def documents(request: Request, status: list[str] = Query(default=[], description="只列这些效力的文件")) -> dict:  # noqa: B008
        view = reading(gate.caller(request, "read"))
        return Record({"documents": _call(lambda: documents_records(view.engine, set(status), view.internal_ids()))})

    @app.get("/documents/{doc_id}", summary="一个文件：元数据与章节树", tags=["文件"])
    def document(doc_id: str, request: Request) -> dict:
        view = reading(gate.caller(request, "read"))
        return Record(_call(lambda: document_tree(view.engine, doc_id, view.internal_ids())))

    @app.get("/documents/{doc_id}/sections/{key}", summary="一个章节的原文与出处", tags=["文件"])
    def section(doc_id: str, key: str, request: Request) -> dict:
        view = reading(gate.caller(request, "read"))
        return _call(lambda: section_record(view.engine, f"{doc_id}#{key}"))

    # -- drafting -------------------------------------------------------------------------

    @app.post("/precedents", summary="先例：各文件如何表述同一事项、有何指标", tags=["起草"])
    def precedents(body: TopicBody, request: Request) -> dict:
        view = reading(gate.caller(request, "read"))
        if not body.topic.strip():
            raise ApiError(400, "bad_request", "请给出主题或段落，例如：党建品牌创建")
        with QUESTIONS:
            return Record(_call(lambda: find_precedents(view.answerer(), body.topic, body.filters()).to_json()))

    @app.post("/compare", summary="对比两个章节", tags=["起草"])
    def compare(body: PairBody, request: Request) -> dict:
        view = reading(gate.caller(request, "read"))
        return Record(_call(lambda: compare_sections(view.engine, body.first, body.second).to_json()))

    @app.post("/changes", summary="两份文件之间的变化（新增、删除、调整、沿用，指标变化）", tags=["起草"])
    def changes(body: PairBody, request: Request) -> dict:
        view = reading(gate.caller(request, "read"))
        return Record(_call(lambda: changes_between(view.engine, body.first, body.second).to_json()))

    @app.post("/draft-check", summary="草稿检查：对照所属系列的上一份计划", tags=["起草"])
    def draft_check(body: DraftBody, request: Request) -> dict:
        view = reading(gate.caller(request, "read"))
        with QUESTIONS:
            return Record(_call(lambda: check_draft(view.answerer(), body.text).to_json()))

    @app.post("/feedback", summary="评价一个回答（有用 / 没用）", tags=["问答"])
    def feedback(body: FeedbackBody, request: Request) -> dict:
        caller = gate.caller(request, "ask")
        _call(lambda: service.feedback.vote(body.question, body.useful, body.comment, caller.user,
                                            understood=body.question))
        return {"recorded": True}

    # -- administration: a library's editors and the administrators ---------------------------

    def editing(caller: Caller, library: str | None) -> tuple[str, Service]:
        return _call(lambda: shelf.editing(access.person(caller.user), library))

    def editing_document(caller: Caller, doc_id: str) -> tuple[str, Service, object]:
        """The library a document is changed in: 404 when the caller cannot read it at all,
        403 when they may read but not edit it."""
        doc = _call(lambda: reading(caller).engine.document(doc_id))
        if doc is None:
            raise ApiError(404, "not_found", f"找不到文档：{doc_id}")
        name, target = _call(lambda: shelf.editing_document(access.person(caller.user), doc_id))
        return name, target, doc

    def labelled(name: str) -> dict:
        return {"library": name} if shelf.several else {}

    library_param = Query(default=None, description="要改动的库（默认：调用者可编辑的第一个库）")

    @app.post("/admin/upload", summary="上传文件并加入索引", tags=["管理"])
    def upload(request: Request, files: list[UploadFile] = File(...), replace: bool = False,  # noqa: B008
               visibility: str = Query(default=PUBLIC, description="可见范围：public（公开）或 internal（内部）"),  # noqa: B008
               library: str | None = library_param) -> dict:
        caller = gate.caller(request, "edit")
        name, target = editing(caller, library)
        visibility = _call(lambda: visibility_of(visibility))
        folder = Path(tempfile.mkdtemp(prefix="policyqa-api-upload-"))
        try:
            pairs = []
            for n, f in enumerate(files):
                fname = Path(f.filename or f"file{n}").name
                saved = folder / f"{n}-{fname}"
                with open(saved, "wb") as out:
                    shutil.copyfileobj(f.file, out, 1 << 20)
                if saved.stat().st_size > MAX_UPLOAD_BYTES:
                    raise ApiError(413, "too_large", f"{fname} 超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
                pairs.append((saved, fname))
            with BUILD_LOCK:
                uploads, report = _call(lambda: target.upload(pairs, on_conflict=REPLACE if replace else KEEP_BOTH,
                                                              user=caller.user, visibility=visibility))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        for u in uploads:
            audit(caller, "upload", document=u.saved_as or u.name, outcome=u.action, reason=u.reason,
                  visibility=visibility, **labelled(name))
        return {"files": [{"name": u.name, "action": u.action, "saved_as": u.saved_as, "reason": u.reason,
                           "message": u.message()} for u in uploads],
                "index": _report(report) if report is not None else None, **labelled(name)}

    @app.delete("/admin/documents/{doc_id}", summary="从索引移除（文件移到 .removed/，可恢复；须 confirm=true）",
                tags=["管理"])
    def remove(doc_id: str, request: Request, confirm: bool = False) -> dict:
        caller = gate.caller(request, "edit")
        name, target, doc = editing_document(caller, doc_id)
        if not confirm:
            raise ApiError(409, "confirm", f"将从索引移除《{doc.title}》（{doc.source}），文件移到 .removed/ 可恢复。"
                                           "确认请加参数 confirm=true")
        with BUILD_LOCK:
            removed, report = _call(lambda: target.remove(doc_id, user=caller.user))
        audit(caller, "remove", document=removed.source, stored=removed.stored, **labelled(name))
        return {"removed": removed.source, "stored": removed.stored, "index": _report(report), **labelled(name)}

    @app.post("/admin/documents/{doc_id}/visibility", summary="设定文档的可见范围：内部（只有内部读者、编辑和管理员可见）或公开",
              tags=["管理"])
    def set_visibility(doc_id: str, body: VisibilityBody, request: Request) -> dict:
        caller = gate.caller(request, "edit")
        name, target, doc = editing_document(caller, doc_id)
        visibility = _call(lambda: visibility_of(body.visibility))
        _, changed = _call(lambda: target.set_visibility([doc_id], visibility))
        if changed:
            audit(caller, "visibility", document=doc.title, doc_id=doc_id, visibility=visibility, **labelled(name))
        return {"doc_id": doc_id, "title": doc.title, "visibility": visibility, "changed": changed, **labelled(name)}

    @app.get("/admin/removed", summary="已移除、可恢复的文件", tags=["管理"])
    def removed(request: Request, library: str | None = library_param) -> dict:
        name, target = editing(gate.caller(request, "edit"), library)
        return {"removed": [{"source": e.source, "stored": e.stored, "time": e.time} for e in _call(target.removed)],
                **labelled(name)}

    @app.post("/admin/restore", summary="恢复已移除的文件并加入索引", tags=["管理"])
    def restore(body: RestoreBody, request: Request) -> dict:
        caller = gate.caller(request, "edit")
        name, target = editing(caller, body.library)
        with BUILD_LOCK:
            source, report = _call(lambda: target.restore(body.stored, user=caller.user))
        audit(caller, "restore", document=source, stored=body.stored, **labelled(name))
        return {"restored": source, "index": _report(report), **labelled(name)}

    @app.post("/admin/rebuild", summary="重新建立索引（读取文档文件夹中的所有变化）", tags=["管理"])
    def rebuild(request: Request, library: str | None = library_param) -> dict:
        caller = gate.caller(request, "edit")
        name, target = editing(caller, library)
        with BUILD_LOCK:
            report = _call(lambda: target.reindex(user=caller.user))
        audit(caller, "rebuild", added=len(report.added), changed=len(report.changed), removed=len(report.removed),
              **labelled(name))
        return {"index": _report(report), **labelled(name)}

    @app.get("/admin/build", summary="建索引进度：正在进行（或最近一次）的任务、阶段、剩余时间", tags=["管理"])
    def build_status(request: Request, library: str | None = library_param) -> dict:
        name, target = editing(gate.caller(request, "edit"), library)
        return {"build": target.jobs.current(), **labelled(name)}

    @app.post("/admin/build/cancel", summary="取消正在进行的建索引（原索引保持不变，文档文件夹的改动撤回）", tags=["管理"])
    def cancel_build(request: Request, library: str | None = library_param) -> dict:
        caller = gate.caller(request, "edit")
        name, target = editing(caller, library)
        if not target.jobs.cancel(caller.user or "-"):
            raise ApiError(409, "no_build", "目前没有正在进行的建索引任务")
        audit(caller, "build_cancel", **labelled(name))
        return {"build": target.jobs.current(), **labelled(name)}

    @app.get("/admin/audit", summary="审计日志（最新在前）", tags=["管理"])
    def audit_log(request: Request) -> dict:
        gate.caller(request, "admin")
        return {"entries": _call(service.audit.latest)}

    @app.get("/admin/not-found", summary="待改进的问题：没有找到答案或被标为没用的", tags=["管理"])
    def not_found(request: Request) -> dict:
        gate.caller(request, "admin")
        return {"questions": _call(service.feedback.to_improve)}

    return app


def _last(answers: Iterator):
    answer = None
    for answer in answers:  # noqa: B007 - the last is the whole answer
        continue
    return answer


def _note_unanswered(service: Service, answer, caller: Caller) -> None:
    if answer is not None and answer.status == "not_found":
        try:
            service.feedback.unanswered(answer.question, caller.user)
        except PolicyQAError as e:
            log.warning("反馈记录失败：%s", e)


def _events(answers: Iterator) -> Iterator[str]:
    """Server-sent events: `delta` for each piece of text as it is written (a language model's
    tokens, or an extractive answer's points one by one), then `answer` with the whole record,
    then `done`. An error is an `error` event."""
    started = time.perf_counter()
    try:
        shown, answer = 0, None
        with QUESTIONS:
            for answer in answers:
                if answer.mode == "generative" and len(answer.text) > shown:
                    yield _event("delta", {"text": answer.text[shown:]})
                    shown = len(answer.text)
        if answer is None:
            return
        if answer.mode != "generative":
            for i, p in enumerate(answer.points, start=1):
                yield _event("delta", {"text": f"{i}. {p.text}{''.join(f'[{n}]' for n in p.citations)}\n"})
        yield _event("answer", answer_record(answer))
        yield _event("done", {"seconds": round(time.perf_counter() - started, 3)})
    except PolicyQAError as e:
        yield _event("error", {"error": {"code": "refused", "message": str(e)}})
    except Exception as e:  # never a traceback
        log.exception("API stream error")
        yield _event("error", {"error": {"code": "internal", "message": f"内部错误（{type(e).__name__}）"}})


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _report(report) -> dict:
    return {"documents": report.documents, "sections": report.sections, "added": list(report.added),
            "changed": list(report.changed), "removed": list(report.removed), "embedded": report.embedded,
            "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
            "up_to_date": report.up_to_date}
