"""API keys: how other systems (an OA portal, a workflow, a chat client) call the server.

Each key belongs to a user of the users file and so acts with that user's role; a key may be
limited to asking (`scope: ask`, for a widget pasted into a portal). Only a hash of the key is
stored: the key itself is shown once, when it is made. The file sits beside the users file
(`users.json` → `users.keys.json`), JSON, written atomically, readable by its owner only:

    {"format": "policyqa-keys", "version": 1,
     "keys": [{"id": "k3f9a…", "name": "OA 门户", "user": "zhang", "scope": "all", "per_minute": 60,
               "hash": "sha256 of the key", "created": "2026-12-06T18:00:00", "revoked": ""}]}

A key is `pqa-<id>-<secret>`: the id finds the record, the secret is checked against the hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

from .files import FollowedFile, save_json

FORMAT = "policyqa-keys"
SCOPES = ("all", "ask")  # everything the user may do; asking and searching only
DEFAULT_PER_MINUTE = 60
MAX_NAME = 40


class ApiKeyError(PolicyQAError, ValueError):
    """A key or keys file the program refuses; the message is for users."""


@dataclass
class ApiKey:
    id: str
    name: str
    user: str
    scope: str = "all"
    per_minute: int = DEFAULT_PER_MINUTE
    hash: str = ""
    created: str = ""
    revoked: str = ""
    last_used: str = ""

    @property
    def active(self) -> bool:
        return not self.revoked

    def public(self) -> dict:
        """What may be shown: everything but the hash."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}


def keys_path_for(users_file: Path) -> Path:
    users_file = Path(users_file)
    return users_file.with_name(users_file.stem + ".keys.json")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class KeysFile:
    """The keys of one installation; re-read when the file changes (keys made or revoked from
    the command line take effect without a restart)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()  # one change at a time
        self._file = FollowedFile(self.path, lambda _: self._read(), [], lambda e: ApiKeyError(
            f"无法读取密钥文件 {self.path}：{os_reason(e)}"))

    def records(self) -> list[ApiKey]:
        return self._file.read()

    def _read(self) -> list[ApiKey]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ApiKeyError(f"密钥文件 {self.path} 无法读取或不是有效的 JSON：{e}") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("keys"), list):
            raise ApiKeyError(f"{self.path} 不是 policyqa 的密钥文件")
        fields = set(ApiKey.__dataclass_fields__)
        return [ApiKey(**{k: v for k, v in item.items() if k in fields}) for item in data["keys"]
                if isinstance(item, dict) and item.get("id") and item.get("hash")]

    def _write(self, keys: list[ApiKey]) -> None:
        data = {"format": FORMAT, "version": 1, "keys": [asdict(k) for k in keys]}
        try:
            save_json(self.path, data, private=True)
        except OSError as e:
            raise ApiKeyError(f"无法写入密钥文件 {self.path}：{os_reason(e)}") from e
        self._file.forget()

    def create(self, name: str, user: str, scope: str = "all", per_minute: int = DEFAULT_PER_MINUTE) -> tuple[ApiKey, str]:
        """A new key for `user`: its record and the key itself (shown once, never stored)."""
        name = (name or "").strip()
        if not name or len(name) > MAX_NAME:
            raise ApiKeyError(f"密钥名称应为 1–{MAX_NAME} 个字符（用于审计日志，如“OA 门户”）")
        if scope not in SCOPES:
            raise ApiKeyError(f"密钥范围应为 {' 或 '.join(SCOPES)}（all：该用户能做的一切；ask：只能提问和检索）")
        if not 1 <= int(per_minute) <= 100_000:
            raise ApiKeyError("每分钟请求数应在 1–100000 之间")
        with self._lock:
            keys = self._read() if self.path.exists() else []
            if any(k.name == name and k.active for k in keys):
                raise ApiKeyError(f"已有名为“{name}”的有效密钥；请换一个名称，或先吊销它")
            key_id = "k" + secrets.token_hex(5)
            secret = secrets.token_urlsafe(24)
            record = ApiKey(key_id, name, user, scope, int(per_minute), _digest(secret), _now())
            self._write([*keys, record])
        return record, f"pqa-{key_id}-{secret}"

    def revoke(self, id_or_name: str) -> ApiKey:
        with self._lock:
            keys = self._read() if self.path.exists() else []
            found = [k for k in keys if id_or_name in (k.id, k.name) and k.active]
            if not found:
                raise ApiKeyError(f"没有名称或 ID 为“{id_or_name}”的有效密钥（policyqa key list 列出全部）")
            found[0].revoked = _now()
            self._write(keys)
        return found[0]

    def check(self, presented: str) -> tuple[ApiKey | None, str]:
        """(the key, '') for a good key; (None, why) otherwise: 无效 or 已吊销."""
        parts = (presented or "").strip().split("-", 2)
        if len(parts) != 3 or parts[0] != "pqa":
            return None, "API 密钥格式不对（应为 pqa-…）"
        record = next((k for k in self.records() if k.id == parts[1]), None)
        if record is None or not hmac.compare_digest(record.hash, _digest(parts[2])):
            return None, "API 密钥无效"
        if not record.active:
            return None, f"API 密钥“{record.name}”已于 {record.revoked} 吊销"
        return record, ""
