"""An OpenAI-compatible endpoint: any OpenAI client (Cherry Studio, Open WebUI, a Dify or FastGPT
workflow, the `openai` SDK) can use a library as a "model".

`POST /v1/chat/completions`: the last user message is the question, the user message before it
the question it follows up (`那2024年呢`). The reply's text is the answer as the CLI prints it: each
point with its `[n]` markers, then a `出处：` list. The citations also come as a `citations` field
(`[{n, citation, doc_id, section_id, link, text}]`) of the response, and of the last chunk when
streaming. `GET /v1/models` lists the one model, named after the library.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from assistant.answers.followup import understand
from assistant.interfaces.records import result_record
from assistant.office.service import Service
from assistant.office.shelf import LibraryView
from assistant.present.plain import answer_text
from assistant.present.render import cited_passages
from assistant.search.query import clean_query
from indexer.errors import PolicyQAError

from .auth import ApiError, Caller, Gate
from .v1 import _call, _last, install_error_handlers
from .workers import QUESTIONS


class Message(BaseModel):
    role: str
    content: Any = ""


class ChatBody(BaseModel):
    model: str = ""
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    model_config = {"extra": "allow"}  # temperature, max_tokens…: accepted, not used


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def model_name(service: Service) -> str:
    return f"policyqa-{service.library_name()}"


def citations_of(answer) -> list[dict]:
    return [{"n": r.rank, **{k: v for k, v in result_record(r).items()
                             if k in ("citation", "doc_id", "section_id", "link", "text", "title", "status")}}
            for r in cited_passages(answer)] if answer.status == "ok" else []


def build_openai(service: Service, gate: Gate, reading: Callable[[Caller], LibraryView]) -> FastAPI:
    app = FastAPI(title="policyqa OpenAI-compatible API", openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    install_error_handlers(app)

    @app.get("/models")
    def models(request: Request) -> dict:
        gate.caller(request, "ask")
        return {"object": "list", "data": [{"id": model_name(service), "object": "model", "created": 0,
                                            "owned_by": "policyqa"}]}

    @app.post("/chat/completions")
    def chat(body: ChatBody, request: Request):
        view = reading(gate.caller(request, "ask"))
        asked = [clean_query(_text(m.content)) for m in body.messages if m.role == "user"]
        asked = [a for a in asked if a]
        if not asked:
            raise ApiError(400, "bad_request", "messages 中没有用户的问题（role 为 user 的消息）")
        question, _ = understand(asked[-1], asked[-2] if len(asked) > 1 else None)
        name = model_name(service)
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        answers = view.ask(question, k=5)
        if body.stream:
            return StreamingResponse(_chunks(answers, reply_id, created, name), media_type="text/event-stream")
        with QUESTIONS:
            answer = _call(lambda: _last(answers))
        text = answer_text(answer)
        return {"id": reply_id, "object": "chat.completion", "created": created, "model": name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(question), "completion_tokens": len(text),
                          "total_tokens": len(question) + len(text)},
                "citations": citations_of(answer)}

    return app


def _chunks(answers: Iterator, reply_id: str, created: int, name: str) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        with QUESTIONS:
            answer = _last(answers)  # a language model's answer grows; an extractive one comes whole
    except PolicyQAError as e:  # a refusal in the stream, as text: never a traceback
        yield chunk({"content": str(e)})
        answer = None
    if answer is not None:
        for line in answer_text(answer).splitlines(keepends=True):
            yield chunk({"content": line})
        yield chunk({}, "stop", citations=citations_of(answer))
    yield "data: [DONE]\n\n"
