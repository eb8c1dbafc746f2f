"""Accounts for the page: a users file with a name, a role and a password hash per user.

Readers ask, search and export; insiders also read the documents marked internal (`内部`,
assistant/office/visibility.py); administrators also upload, remove, restore and rebuild,
and read the audit log and the feedback. Passwords are stored as scrypt hashes (hashlib,
salted, `scrypt$n$r$p$salt$hash`), never as text. The file is JSON, written atomically and
readable by its owner only:

    {"format": "policyqa-users", "version": 1,
     "users": [{"name": "zhang", "role": "admin", "password": "scrypt$16384$8$1$…$…",
                "groups": ["督导"]}]}

Groups (a department, a team) are named in the libraries' permissions as `group:督导`
(assistant/office/libraries.py).

`policyqa user add NAME --role admin|insider|reader --users FILE` writes it; the page reads it with
`--users FILE` (or POLICYQA_USERS) and notices changes without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

from .files import FollowedFile, save_json

ADMIN, INSIDER, READER = "admin", "insider", "reader"
ROLES = (ADMIN, INSIDER, READER)
FORMAT = "policyqa-users"
# scrypt cost: 16 MB of memory and some 50 ms per check on this machine, which also slows guessing.
N, R, P = 2**14, 8, 1
MIN_PASSWORD = 8


class AccountError(PolicyQAError, ValueError):
    """A users file or account the program refuses; the message is for users."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password: str = ""  # the hash
    groups: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_insider(self) -> bool:
        return self.role == INSIDER


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64 or any(ch.isspace() or ch in ":/\\" for ch in name):
        raise AccountError(f"用户名无效：{name!r}（1–64 个字符，不含空格、冒号和斜杠）")
    return name


class UsersFile:
    """The accounts in one users file, re-read when the file changes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = FollowedFile(self.path, _parse, {}, lambda e: AccountError(
            f"无法读取用户文件 {self.path}：{os_reason(e)}"))

    def accounts(self) -> dict[str, Account]:
        return dict(self._file.read())

    def get(self, name: str) -> Account | None:
        return self.accounts().get(name)

    def check(self, name: str, password: str) -> Account | None:
        account = self.get((name or "").strip())
        if account is None:
            verify_password(password, hash_password("timing"))  # as slow for unknown names
            return None
        return account if verify_password(password, account.password) else None

    def add(self, name: str, role: str, password: str, groups: list[str] | None = None) -> Account:
        """A new account, or an existing one's role and password (its groups kept unless given)."""
        name = check_name(name)
        if role not in ROLES:
            raise AccountError(f"角色应为 {' 或 '.join(ROLES)}（收到“{role}”）")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
        accounts = self.accounts()
        kept = accounts[name].groups if name in accounts else ()
        accounts[name] = Account(name, role, hash_password(password),
                                 tuple(dict.fromkeys(check_name(g) for g in groups)) if groups is not None else kept)
        self._save(accounts)
        return accounts[name]

    def change_password(self, name: str, current: str, new: str) -> Account:
        """The user's own change: the current password first."""
        account = self.check(name, current)
        if account is None:
            raise AccountError("当前密码不对")
        return self.add(name, account.role, new)

    def remove(self, name: str) -> None:
        accounts = self.accounts()
        if name not in accounts:
            raise AccountError(f"用户文件 {self.path} 中没有用户“{name}”")
        del accounts[name]
        self._save(accounts)

    def _save(self, accounts: dict[str, Account]) -> None:
        data = {"format": FORMAT, "version": 1,
                "users": [{"name": a.name, "role": a.role, "password": a.password, "groups": list(a.groups)}
                          for a in accounts.values()]}
        try:
            save_json(self.path, data, private=True)
        except OSError as e:
            raise AccountError(f"无法写入用户文件 {self.path}：{os_reason(e)}") from e


def _parse(path: Path) -> dict[str, Account]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise AccountError(f"用户文件 {path} 无法读取或不是合法的 JSON") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("users"), list):
        raise AccountError(f"{path} 不是 policyqa 用户文件（用 policyqa user add 建立）")
    accounts = {}
    for row in data["users"]:
        if not isinstance(row, dict) or row.get("role") not in ROLES or not isinstance(row.get("password"), str):
            raise AccountError(f"用户文件 {path} 中有一条记录不完整")
        groups = row.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise AccountError(f"用户文件 {path} 中用户 {row['name']} 的组不是文字列表")
        accounts[row["name"]] = Account(str(row["name"]), row["role"], row["password"], tuple(groups))
    return accounts
