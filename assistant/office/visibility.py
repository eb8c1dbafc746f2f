"""Which documents of a library are internal (`内部`): the rest are public (`公开`).

A library with a few internal documents keeps them beside its public ones; a reader sees the
public ones only, its editors, its insiders (`policyqa library grant NAME WHO --role insider`),
users of the `insider` role and administrators see all (libraries.may_read_internal). The
documents are named by their file in the corpus folder, so marking one survives rebuilds and
needs none. The file lives beside the index, like its audit log:

    {"format": "policyqa-visibility", "version": 1, "internal": ["2023/内部通知.docx"]}
"""

from __future__ import annotations

import json
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

from ..search.veil import INTERNAL, PUBLIC
from .files import FollowedFile, save_json

FORMAT = "policyqa-visibility"
LABELS = {INTERNAL: "内部", PUBLIC: "公开"}
# What a user may type for either (the page's and the CLI's words, and the API's).
SPELLINGS = {INTERNAL: INTERNAL, PUBLIC: PUBLIC, "内部": INTERNAL, "公开": PUBLIC}


class VisibilityError(PolicyQAError, ValueError):
    """A visibility file or value the program refuses; the message is for users."""


def visibility_of(word: str) -> str:
    found = SPELLINGS.get((word or "").strip().lower())
    if found is None:
        raise VisibilityError(f"可见范围应为 内部（{INTERNAL}）或 公开（{PUBLIC}），收到“{word}”")
    return found


class VisibilityFile:
    """The internal documents of one library, re-read when the file changes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = FollowedFile(self.path, _parse, frozenset(), lambda e: VisibilityError(
            f"无法读取可见范围文件 {self.path}：{os_reason(e)}"))

    def internal(self) -> frozenset[str]:
        """The sources (paths in the corpus folder) of the internal documents."""
        return self._file.read()

    def of(self, source: str) -> str:
        return INTERNAL if source in self.internal() else PUBLIC

    def set(self, sources: list[str], visibility: str) -> bool:
        """Mark these documents internal or public; whether anything changed."""
        visibility = visibility_of(visibility)
        before = self.internal()
        after = before | set(sources) if visibility == INTERNAL else before - set(sources)
        if after == before:
            return False
        self._save(after)
        return True

    def _save(self, internal: frozenset[str]) -> None:
        data = {"format": FORMAT, "version": 1, "internal": sorted(internal)}
        try:
            save_json(self.path, data)
        except OSError as e:
            raise VisibilityError(f"无法写入可见范围文件 {self.path}：{os_reason(e)}") from e


def _parse(path: Path) -> frozenset[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise VisibilityError(f"可见范围文件 {path} 无法读取或不是合法的 JSON") from e
    internal = data.get("internal") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(internal, list) or not all(isinstance(s, str) for s in internal):
        raise VisibilityError(f"{path} 不是 policyqa 可见范围文件")
    return frozenset(internal)
