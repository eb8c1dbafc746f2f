"""Who may use the page, and as what.

Without a login configured the page is one person's tool on 127.0.0.1: everyone is an
administrator. With `--users FILE` (accounts with roles, assistant/office/accounts.py) and/or
`--auth user:password` (one administrator), every route asks for a login and the server,
not the page, decides what each user may do: every callback that changes the library
checks the caller's role (`Access.require_admin`).

`LoginGate` is ASGI middleware in front of Gradio. Gradio checks the login on its data
routes, but answers a few others to anyone (heartbeat, run history, token, app id) and
embeds the API description, with the dropdown choices (document titles, regions), in the
login page itself. Until the visitor has a session, only what the login form needs is
served and the embedded API description is blanked. A login names one user (a form with two
names is refused: Gradio would log in the last while a throttle counted the first); failed
logins are throttled (assistant/office/throttle.py) and written to the audit log with the name
tried and the client's address, the proxy's header believed only from a trusted proxy
(`--trusted-proxy`). A session ends as soon as its account is removed or changed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from http.cookies import SimpleCookie

from starlette.requests import Request
from starlette.responses import JSONResponse

from assistant.office.accounts import ADMIN, INSIDER, READER, UsersFile, check_name
from assistant.office.journal import Audit
from assistant.office.libraries import Person
from assistant.office.throttle import DEVICE_DAYS, DeviceTokens, LoginThrottle, RateLimit, Summary
from indexer.errors import PolicyQAError

log = logging.getLogger("policyqa.ui")


class NotAllowed(PolicyQAError):
    """An action the caller's role does not allow; the message is for users."""


class Access:
    def __init__(self, users: UsersFile | None = None, admin: tuple[str, str] | None = None,
                 audit: Audit | None = None, idle_minutes: float | None = None):
        self.users = users
        self.admin = admin
        self.audit = audit
        # a session ends after this long without the user doing anything (page loads, questions,
        # uploads, API calls: not the page's own polling)
        self.idle_seconds = 60 * (idle_minutes if idle_minutes is not None else session_idle_minutes())

    @property
    def enabled(self) -> bool:
        return self.users is not None or self.admin is not None

    def check(self, name: str, password: str) -> bool:
        """Gradio's login check."""
        if self.admin is not None and name == self.admin[0]:
            return hmac.compare_digest(password.encode(), self.admin[1].encode())
        return self.users is not None and self.users.check(name, password) is not None

    def fingerprint(self, name: str) -> str | None:
        """What a session was opened with: it stays valid while this is unchanged (None: no
        such account any more)."""
        if self.admin is not None and name == self.admin[0]:
            return hashlib.sha256(f"{ADMIN}|{self.admin[1]}".encode()).hexdigest()
        account = self.users.get(name) if self.users is not None else None
        return hashlib.sha256(f"{account.role}|{account.password}".encode()).hexdigest() if account else None

    def role(self, name: str | None) -> str:
        if not self.enabled:
            return ADMIN
        if self.admin is not None and name == self.admin[0]:
            return ADMIN
        account = self.users.get(name or "") if self.users is not None else None
        return account.role if account is not None else READER

    def person(self, name: str | None) -> Person:
        """Who asks, for the libraries' permissions: without a login everyone administers."""
        account = self.users.get(name or "") if self.users is not None and name else None
        return Person(name or "", account.groups if account is not None else (), self.role(name) == ADMIN,
                      self.role(name) == INSIDER)

    def user(self, request) -> str:
        return (getattr(request, "username", None) or "") if request is not None else ""

    def is_admin(self, request) -> bool:
        return self.role(self.user(request)) == ADMIN

    def change_password(self, name: str, current: str, new: str, repeated: str) -> None:
        """A user's own new password; every session of theirs ends (the page logs in again)."""
        if self.users is None or self.users.get(name) is None:
            raise NotAllowed("只有用户文件中的用户可以在此修改密码（单个管理员的密码由 --auth 设定）")
        if new != repeated:
            raise NotAllowed("两次输入的新密码不一致")
        if new == current:
            raise NotAllowed("新密码与当前密码相同")
        self.users.change_password(name, current, new)
        self.record("password_change", user=name)

    def save_user(self, request, name: str, role: str, password: str) -> str:
        """An administrator adds a user, or sets an existing user's role and password (a reset):
        that user's sessions end."""
        admin = self.require_admin(request)
        if self.users is None:
            raise NotAllowed("服务未使用用户文件（--users），无法在此管理用户；请用 policyqa user add 建立用户文件")
        name = check_name(name)
        if name == admin and role != ADMIN:
            raise NotAllowed("不能取消自己的管理员角色（请由另一位管理员操作）")
        existed = self.users.get(name) is not None
        self.users.add(name, role, password)
        self.record("user_save", user=admin, document=name, role=role, existed=existed)
        return name

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


SESSION_IDLE_MINUTES = 120


def session_idle_minutes() -> float:
    """$POLICYQA_SESSION_IDLE_MINUTES, or SESSION_IDLE_MINUTES."""
    try:
        return max(1.0, float(os.environ.get("POLICYQA_SESSION_IDLE_MINUTES") or SESSION_IDLE_MINUTES))
    except ValueError:
        return SESSION_IDLE_MINUTES


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SystemExit("错误：--auth 的格式应为 用户名:密码")
    return (user, password)


MAX_LOGIN_BODY = 16 * 1024  # a login form is a name and a password
MAX_NAME = 64  # longer names are no account's (accounts.check_name)
MAX_SESSIONS_PER_USER = 20  # the oldest session of a user ends when a newer one passes this
DEVICE_COOKIE = "policyqa-device"
# Files sent to Gradio's upload route, per user: a burst, then a rate (bytes). Temporary files
# are also removed by age (webui/server.py), so their space stays bounded.
UPLOAD_BURST_BYTES = 200 * 1024 * 1024
UPLOAD_BYTES_PER_HOUR = 1024 * 1024 * 1024
UPLOAD_PATHS = ("/gradio_api/upload", "/upload")
# The API, the OpenAI-compatible endpoint, MCP and the widget take keys as well as sessions.
API_PREFIXES = ("/api/v1", "/v1/", "/mcp", "/widget")
SESSION_USER = "policyqa.user"


class LoginGate:
    SHELL = {"/", "/login", "/login/", "/logout", "/config", "/config/", "/favicon.ico", "/robots.txt",
             "/manifest.json", "/theme.css", "/gradio_api/theme.css", "/gradio_api/startup-events",
             "/gradio_api/login_check", "/gradio_api/login_check/"}
    SHELL_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
    LOGIN = {"/login", "/login/"}
    LOGOUT = {"/logout", "/logout/"}
    # Requests the page makes by itself (its heartbeat, the answers' stream, polling actions such
    # as the build's progress, files): they do not keep an idle session alive.
    PASSIVE = ("/gradio_api/heartbeat/", "/heartbeat/", "/gradio_api/queue/data", "/queue/data", "/gradio_api/run/",
               "/run/", "/gradio_api/file", "/file=", "/assets/", "/static/", "/svelte/", "/favicon.ico")
    _EMBEDDED = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)
    # One per process: every app served shares the counts.
    throttle = LoginThrottle()
    devices = DeviceTokens()
    refusals = Summary()  # throttled and malformed attempts: a line a minute per name and address
    uploads = RateLimit(UPLOAD_BURST_BYTES, UPLOAD_BYTES_PER_HOUR)

    def __init__(self, app, access: Access | None = None):
        self.app = app
        self.access = access or Access()
        self._sessions: OrderedDict[str, tuple[str, str]] = OrderedDict()  # token -> (user, fingerprint)
        self._active: dict[str, float] = {}  # token -> when its user last did something
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in self.LOGIN:
            return await self._login(scope, receive, send)
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        user = self._session_user(scope)
        if user is not None and scope.get("path") in self.LOGOUT:
            self.access.record("logout", user=user, address=(scope.get("client") or ("?", 0))[0])
        if scope.get("path", "").startswith(API_PREFIXES):  # they decide their callers (webui/api/auth.py)
            scope[SESSION_USER] = user
            return await self.app(scope, receive, send)
        if user is not None:
            if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in UPLOAD_PATHS:
                return await self._upload(scope, receive, send, user)
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

    # -- logging in ------------------------------------------------------------------------

    async def _login(self, scope, receive, send) -> None:
        """A login attempt: one name, not throttled; passed to Gradio, its outcome counted and
        written to the audit log."""
        address = (scope.get("client") or ("?", 0))[0]
        body = await _read_body(receive, MAX_LOGIN_BODY)
        if body is None:
            return await self._refuse_login(scope, send, 413, "登录请求过大", "", address, "请求过大")
        try:
            form = await Request(scope, _replay(body)).form(max_files=0, max_fields=8, max_part_size=MAX_LOGIN_BODY)
        except Exception:  # noqa: BLE001 - a malformed form, whatever the parser says
            return await self._refuse_login(scope, send, 400, "登录请求无效", "", address, "表单无法解析")
        names, passwords = form.getlist("username"), form.getlist("password")
        if len(names) != 1 or len(passwords) != 1 or not isinstance(names[0], str):
            shown = "、".join(str(n)[:MAX_NAME] for n in names[:3])
            return await self._refuse_login(scope, send, 400, "登录请求无效：应恰好包含一个用户名和一个密码", shown,
                                            address, f"含 {len(names)} 个用户名、{len(passwords)} 个密码")
        user = names[0].strip()
        if len(user) > MAX_NAME:
            return await self._refuse_login(scope, send, 400, "用户名或密码错误", user[:MAX_NAME] + "…", address,
                                            "用户名过长")
        device = self.devices.device(Request(scope).cookies.get(DEVICE_COOKIE), user)
        wait = self.throttle.wait(user, address, device)
        if wait > 0:
            log.warning("登录被限制：用户 %r，地址 %s，还需等待 %.0f 秒", user, address, wait)
            return await self._refuse_login(scope, send, 429, f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试",
                                            user, address, "", action="login_throttled",
                                            headers={"Retry-After": str(math.ceil(wait))})

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(user, address, device)
                    self._opened(scope, message, user)
                    message = _with_cookie(message, DEVICE_COOKIE, self.devices.issue(user))
                    self.access.record("login", user=user, address=address)
                else:
                    failures = self.throttle.failed(user, address, device)
                    log.warning("登录失败：用户 %r，地址 %s（连续第 %d 次）", user, address, failures)
                    self.access.record("login_failed", user=user, address=address)
            await send(message)

        await self.app(scope, _replay(body), watch)

    async def _refuse_login(self, scope, send, status: int, detail: str, user: str, address: str, reason: str,
                            action: str = "login_refused", headers: dict | None = None) -> None:
        left_out = self.refusals.due((action, user, address))
        if left_out is not None:
            extra = {"reason": reason} if reason else {}
            self.access.record(action, user=user, address=address, **extra,
                               **({"omitted": left_out} if left_out else {}))
        response = JSONResponse({"detail": detail}, status_code=status, headers=headers)
        await response(scope, _replay(b""), send)

    def _opened(self, scope, start, user: str) -> None:
        """Remember the session Gradio just opened, with the account it was opened for; a user's
        oldest sessions end past MAX_SESSIONS_PER_USER."""
        token = _cookie_value(start, "access-token-")
        fingerprint = self.access.fingerprint(user)
        if not token or fingerprint is None:
            return
        tokens = getattr(scope.get("app"), "tokens", {})
        with self._lock:
            for gone in [t for t in self._sessions if t not in tokens]:  # ended by Gradio's logout
                self._sessions.pop(gone)
                self._active.pop(gone, None)
            self._sessions[token] = (user, fingerprint)
            self._active[token] = time.monotonic()
            mine = [t for t, (u, _) in self._sessions.items() if u == user]
            for old in mine[:-MAX_SESSIONS_PER_USER]:
                self._end(old, tokens)

    # -- sessions --------------------------------------------------------------------------

    def _session_user(self, scope) -> str | None:
        """The user of a live session, or None. A session whose account was removed, or whose
        password or role changed, ends here, at its next request."""
        gradio_app = scope.get("app")
        cookie_id = getattr(gradio_app, "cookie_id", None)
        cookies = Request(scope).cookies if scope["type"] == "http" else {}
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        tokens = getattr(gradio_app, "tokens", {})
        user = tokens.get(token)
        if user is None:
            return None
        now = time.monotonic()
        with self._lock:
            opened = self._sessions.get(token)
            if opened is None or opened[0] != user or opened[1] != self.access.fingerprint(user):
                self._end(token, tokens)
                return None
            idle = now - self._active.get(token, now)
            if idle > self.access.idle_seconds:
                self._end(token, tokens)
                expired = True
            else:
                expired = False
                if not scope.get("path", "").startswith(self.PASSIVE):
                    self._active[token] = now
        if expired:
            self.access.record("session_expired", user=user, idle_minutes=round(idle / 60))
            return None
        return user

    def _end(self, token: str, tokens: dict) -> None:
        self._sessions.pop(token, None)
        self._active.pop(token, None)
        tokens.pop(token, None)

    # -- uploads ---------------------------------------------------------------------------

    async def _upload(self, scope, receive, send, user: str) -> None:
        """Gradio's upload route, within the user's share of bytes."""
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is None or not length.isdigit():
            response = JSONResponse({"detail": "上传请求须注明长度（Content-Length）"}, status_code=411)
            return await response(scope, receive, send)
        wait = self.uploads.take(user, float(length))
        if wait > 0:
            response = JSONResponse({"detail": f"上传过于频繁，请 {math.ceil(wait)} 秒后再试"}, status_code=429,
                                    headers={"Retry-After": str(math.ceil(wait))})
            return await response(scope, receive, send)
        await self.app(scope, receive, send)

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


async def _read_body(receive, limit: int) -> bytes | None:
    """The request's body, or None past `limit` bytes."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return None
    return body


def _replay(body: bytes):
    """A `receive` that gives the buffered body once, then a disconnect."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _cookie_value(start, prefix: str) -> str:
    for key, value in start.get("headers", []):
        if key.lower() == b"set-cookie":
            cookie = SimpleCookie(value.decode("latin-1"))
            for name, morsel in cookie.items():
                if name.startswith(prefix) and morsel.value:
                    return morsel.value
    return ""


def _with_cookie(start, name: str, value: str) -> dict:
    cookie = f"{name}={value}; Max-Age={DEVICE_DAYS * 86400}; Path=/; HttpOnly; SameSite=Lax"
    return {**start, "headers": [*start.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]}
