"""The server's programmable surface, on the page's own port: the JSON API (/api/v1/), the
OpenAI-compatible endpoint (/v1/), the MCP server (/mcp) and the embeddable widget (/widget.js).

`programmable(service, access)` gives the routes and the lifespan that Gradio's app is built with
(webui/server.py): the routes come before Gradio's own, and every one of them decides its
callers itself (auth.Gate), which is why LoginGate lets these paths through without a session.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from assistant.office.keys import KeysFile, keys_path_for
from assistant.office.service import Service
from assistant.office.shelf import LibraryView, NothingToRead, Shelf
from indexer.errors import PolicyQAError

from ..access import SESSION_USER, Access
from .auth import ApiError, Caller, Gate
from .workers import IN_FLIGHT

log = logging.getLogger("policyqa.api")
# Described to anyone (no data in them): the API's description and docs, the widget's page and script.
PUBLIC = frozenset({"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/oauth2-redirect", "/v1/openapi.json",
                    "/widget.js", "/widget"})
MAX_BODY = 1024 * 1024  # a question, a draft: a JSON body is never larger (uploads have their own limit)
UPLOAD_PATH = "/admin/upload"


@dataclass
class Programmable:
    routes: list[BaseRoute]
    lifespan: object  # an async context manager factory for Gradio's app
    gate: Gate


def keys_for(access: Access) -> KeysFile | None:
    """The keys file beside the users file; none without one (the API is then as open as the page)."""
    return KeysFile(keys_path_for(access.users.path)) if access.users is not None else None


def programmable(service: Service, access: Access, shelf: Shelf | None = None) -> Programmable:
    from .openai_compat import build_openai
    from .v1 import build_api
    from .widget import ROUTES as WIDGET

    gate = Gate(access, keys_for(access))
    shelf = shelf or Shelf.single(service)

    def reading(caller: Caller) -> LibraryView:
        return shelf.view(access.person(caller.user))

    routes: list[BaseRoute] = [Mount("/api/v1", app=Guard(build_api(service, access, gate, shelf), gate)),
                               Mount("/v1", app=Guard(build_openai(service, gate, reading), gate)), *WIDGET]
    mcp_app = None
    try:
        from assistant.interfaces.mcp_server import build_mcp

        server = build_mcp(lambda: _mcp_reader().engine, lambda: _mcp_reader().answerer(),
                           name=f"policyqa-{service.library_name()}", internal_of=lambda: _mcp_reader().internal_ids())
        mcp_app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                             host="0.0.0.0")
        routes.append(Route("/mcp", endpoint=Guard(McpGate(mcp_app, gate, reading), gate),
                            methods=["GET", "POST", "DELETE"]))
    except PolicyQAError as e:  # the SDK is optional: the rest is served without it
        log.warning("%s", e)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if mcp_app is None:
            yield
            return
        async with mcp_app.router.lifespan_context(mcp_app):
            yield

    return Programmable(routes, lifespan, gate)


# What the MCP caller of this request may read; the tools run in the request's context. Unset,
# nothing can be read (a tool then refuses rather than reading every library).
MCP_READER: contextvars.ContextVar[LibraryView | None] = contextvars.ContextVar("policyqa_mcp_reader", default=None)


def _mcp_reader() -> LibraryView:
    view = MCP_READER.get()
    if view is None:
        raise NothingToRead("无法确认调用者可以阅读哪些库")
    return view


class McpGate:
    """The MCP endpoint takes the API's keys and logins (scope `all`); its tools read what the
    caller may read."""

    def __init__(self, app, gate: Gate, reading):
        self.app, self.gate, self.reading = app, gate, reading

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            from starlette.requests import Request

            try:
                caller = self.gate.caller(Request(scope), "read")
            except ApiError as e:
                response = JSONResponse({"error": {"code": e.code, "message": e.message}}, status_code=e.status,
                                        headers=e.headers)
                return await response(scope, receive, send)
            token = MCP_READER.set(self.reading(caller))
            try:
                return await self.app(scope, receive, send)
            finally:
                MCP_READER.reset(token)
        await self.app(scope, receive, send)


class Guard:
    """In front of each programmable app: a caller with neither a key nor a session is refused
    (401) before anything reads the request (a malformed body then says nothing about the route);
    a request body over MAX_BODY is refused with 413. Roles, scopes and the key itself are checked
    by the route (auth.Gate)."""

    def __init__(self, app, gate: Gate):
        self.app, self.gate = app, gate

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.gate.access.enabled and _full_path(scope) not in PUBLIC:
            headers = dict(scope.get("headers", []))
            if not scope.get(SESSION_USER) and not headers.get(b"authorization") and not headers.get(b"x-api-key"):
                response = JSONResponse({"error": {"code": "unauthorized",
                                                   "message": "需要 API 密钥（Authorization: Bearer pqa-…）或先登录页面"}},
                                        status_code=401, headers={"WWW-Authenticate": "Bearer"})
                return await response(scope, receive, send)
        if scope["type"] == "http":
            limit = None if scope.get("path", "").endswith(UPLOAD_PATH) else MAX_BODY
            length = dict(scope.get("headers", [])).get(b"content-length")
            if limit is not None and length is not None and length.isdigit() and int(length) > limit:
                response = JSONResponse({"error": {"code": "too_large", "message": f"请求体超过 {limit // 1024} KB"}},
                                        status_code=413)
                return await response(scope, receive, send)
            if limit is not None and length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
                receive = _bounded(receive, limit)
            send = _timed(send)
            with IN_FLIGHT:
                return await self.app(scope, receive, send)
        await self.app(scope, receive, send)


def _bounded(receive, limit: int):
    seen = 0

    async def bounded():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            return {"type": "http.disconnect"}
        return message

    return bounded


def _timed(send):
    """Adds `Server-Timing: app;dur=<ms>` (the time spent in the server before the response
    starts) so a client can tell the server's time from the network's."""
    started = time.perf_counter()

    async def timed(message):
        if message.get("type") == "http.response.start":
            ms = (time.perf_counter() - started) * 1000
            message = {**message, "headers": [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.1f}".encode())]}
        await send(message)

    return timed


def _full_path(scope) -> str:
    """The request's path from the server's root, inside a mounted app or not."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path if path.startswith(root) else root + path
