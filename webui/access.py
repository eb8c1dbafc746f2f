"""Who may use the page, and as what.

Without a login configured the page is one person's tool on 127.0.0.1: everyone is an
administrator. With `--users FILE` (accounts with roles, assistant/accounts.py) and/or
`--auth user:password` (one administrator), every route asks for a login and the server,
not the page, decides what each user may do: every callback that changes the library
checks the caller's role (`Access.require_admin`).

`LoginGate` is ASGI middleware in front of Gradio. Gradio checks the login on its data
routes, but answers a few others to anyone (heartbeat, run history, token, app id) and
embeds the API description, with the dropdown choices (document titles, regions), in the
login page itself. Until the visitor has a session, only what the login form needs is
served, the embedded API description is blanked, failed logins are throttled per name and
per address (assistant/throttle.py), and every login is written to the audit log.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from assistant.accounts import ADMIN, READER, UsersFile
from assistant.journal import Audit
from assistant.throttle import LoginThrottle
from indexer.errors import PolicyQAError

log = logging.getLogger("policyqa.ui")


class NotAllowed(PolicyQAError):
    """An action the caller's role does not allow; the message is for users."""


class Access:
    def __init__(self, users: UsersFile | None = None, admin: tuple[str, str] | None = None,
                 audit: Audit | None = None):
        self.users = users
        self.admin = admin
        self.audit = audit

    @property
    def enabled(self) -> bool:
        return self.users is not None or self.admin is not None

    def check(self, name: str, password: str) -> bool:
        """Gradio's login check."""
        if self.admin is not None and name == self.admin[0]:
            return hmac.compare_digest(password.encode(), self.admin[1].encode())
        return self.users is not None and self.users.check(name, password) is not None

    def role(self, name: str | None) -> str:
        if not self.enabled:
            return ADMIN
        if self.admin is not None and name == self.admin[0]:
            return ADMIN
        account = self.users.get(name or "") if self.users is not None else None
        return account.role if account is not None else READER

    def user(self, request) -> str:
        return (getattr(request, "username", None) or "") if request is not None else ""

    def is_admin(self, request) -> bool:
        return self.role(self.user(request)) == ADMIN

    def require_admin(self, request) -> str:
        """The administrator's name, or NotAllowed: the server decides, whatever the page shows."""
        if not self.is_admin(request):
            raise NotAllowed("需要管理员权限：读者可以提问、检索和导出，上传、移除、恢复和重建由管理员操作")
        return self.user(request)

    def record(self, action: str, request=None, user: str = "", **detail) -> None:
        if self.audit is not None:
            try:
                self.audit.record(action, user or self.user(request), **detail)
            except PolicyQAError as e:
                log.warning("审计日志写入失败：%s", e)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SystemExit("错误：--auth 的格式应为 用户名:密码")
    return (user, password)


class LoginGate:
    SHELL = {"/", "/login", "/login/", "/logout", "/config", "/config/", "/favicon.ico", "/robots.txt",
             "/manifest.json", "/theme.css", "/gradio_api/theme.css", "/gradio_api/startup-events",
             "/gradio_api/login_check", "/gradio_api/login_check/"}
    SHELL_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
    LOGIN = {"/login", "/login/"}
    _EMBEDDED = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)
    throttle = LoginThrottle()  # one per process: every app served shares the counts

    def __init__(self, app, access: Access | None = None):
        self.app = app
        self.access = access or Access()

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
        passed to Gradio, a failure counted, logged and written to the audit log."""
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
            self.access.record("login_throttled", user=user, address=address)
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
                    self.access.record("login", user=user, address=address)
                else:
                    failures = self.throttle.failed(user, address)
                    log.warning("登录失败：用户 %r，地址 %s（连续第 %d 次）", user, address, failures)
                    self.access.record("login_failed", user=user, address=address)
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
