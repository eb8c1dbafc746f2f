"""Who is calling the API, and what they may do.

A call carries an API key (`Authorization: Bearer pqa-…` or `X-API-Key: pqa-…`) or the session
of a page login (the browser's cookie, known to LoginGate). Without a users file or `--auth`, the
API is as open as the page: everyone is an administrator. Every refusal is a JSON error in
Chinese: no key (401), a bad or revoked key (401), a role or key scope that does not allow the
route (403), too many calls for the key (429 with Retry-After).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.requests import Request

from assistant.office.accounts import ADMIN
from assistant.office.keys import ApiKey, KeysFile
from assistant.office.throttle import RateLimit

from ..access import SESSION_USER, Access  # SESSION_USER: a logged-in browser's user, set by LoginGate


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class Caller:
    user: str
    role: str
    key: ApiKey | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def audit_detail(self) -> dict:
        return {"key": self.key.name, "via": "api"} if self.key else {"via": "api"}


class Gate:
    """Decides each call: `caller(request, need)` with need `ask` (questions, search), `read`
    (documents, drafting tools), `edit` (changes to a library: whether the caller may edit that
    library is the shelf's to say), `admin`."""

    def __init__(self, access: Access, keys: KeysFile | None):
        self.access = access
        self.keys = keys
        self._limits: dict[int, RateLimit] = {}

    def caller(self, request: Request, need: str = "read") -> Caller:
        presented = _presented_key(request)
        if presented:
            caller = self._by_key(presented)
        elif not self.access.enabled:
            caller = Caller("", ADMIN)
        else:
            user = request.scope.get(SESSION_USER)
            if not user:
                raise ApiError(401, "unauthorized", "需要 API 密钥（Authorization: Bearer pqa-…）或先登录页面",
                               {"WWW-Authenticate": "Bearer"})
            caller = Caller(user, self.access.role(user))
        if need == "admin" and not caller.is_admin:
            raise ApiError(403, "forbidden", "需要管理员权限：读者可以提问、检索和阅读，上传、移除、恢复、重建和审计由管理员操作")
        if caller.key is not None:
            if need != "ask" and caller.key.scope == "ask":
                raise ApiError(403, "forbidden", f"API 密钥“{caller.key.name}”只能用于提问和检索")
            self.access.record("api_call", user=caller.user, key=caller.key.name, route=_route(request))
        return caller

    def _by_key(self, presented: str) -> Caller:
        if self.keys is None:
            raise ApiError(401, "invalid_key", "本服务未启用 API 密钥（需以 --users 启动并用 policyqa key create 建立密钥）")
        key, why = self.keys.check(presented)
        if key is None:
            self.access.record("api_key_refused", user="", reason=why)
            raise ApiError(401, "invalid_key", why, {"WWW-Authenticate": "Bearer"})
        role = self.access.role(key.user)
        if self.access.users is not None and self.access.users.get(key.user) is None and \
                not (self.access.admin and key.user == self.access.admin[0]):
            raise ApiError(401, "invalid_key", f"API 密钥“{key.name}”所属的用户 {key.user} 已不存在")
        limit = self._limits.setdefault(key.per_minute, RateLimit(key.per_minute, key.per_minute * 60))
        wait = limit.take(key.id)
        if wait > 0:
            seconds = math.ceil(wait)
            raise ApiError(429, "rate_limited", f"请求过于频繁（密钥“{key.name}”每分钟 {key.per_minute} 次），请 {seconds} 秒后再试",
                           {"Retry-After": str(seconds)})
        return Caller(key.user, role, key)


def _route(request: Request) -> str:
    """The path called, from the server's root (request.url would build a whole URL object)."""
    scope = request.scope
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path if path.startswith(root) else root + path


def _presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key", "").strip()
