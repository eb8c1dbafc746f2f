"""What a build reports: its counts, changes, skipped files and stage times, and its errors."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import store
from .errors import PolicyQAError, os_reason
from .read import SkippedFile


class BuildError(PolicyQAError):
    """The build could not produce an index; the previous one is untouched."""


class BuildStopped(BuildError):
    """The process is stopping (a server shut down mid-build)."""


class BuildCancelled(BuildError):
    """An administrator cancelled the build (assistant/office/jobs.py)."""


@dataclass
class BuildReport:
    index_dir: str
    documents: int = 0
    sections: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    repaired: int = 0  # damaged vectors of the previous index, computed again instead of copied
    characters: int = 0  # characters of the documents parsed in this run
    seconds: float = 0.0
    up_to_date: bool = False
    model: str = ""
    # seconds: parse, store, words, encode (wall), embed and second (worker-seconds: the two
    # models run side by side inside encode), ann, bm25
    stages: dict[str, float] = field(default_factory=dict)
    warnings: list[SkippedFile] = field(default_factory=list)  # indexed, but a person should know

    @contextmanager
    def timed(self, stage: str):
        started = time.monotonic()
        try:
            yield
        finally:
            # not rounded here: a stage timed in many short spans (jieba per chunk) would round to nothing
            self.stages[stage] = self.stages.get(stage, 0.0) + time.monotonic() - started

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("skipped", "warnings")}
        d["stages"] = {k: round(v, 2) for k, v in self.stages.items()}
        d["skipped"] = [{"source": s.source, "reason": s.reason} for s in self.skipped]
        d["warnings"] = [{"source": s.source, "warning": s.reason} for s in self.warnings]
        return d


# FAISS reports a failed write as a RuntimeError whose text ends in the C library's reason.
_FAISS_WRITE_REASONS = (("No space left", "磁盘已满"), ("Read-only", "只读文件系统"),
                        ("Permission denied", "没有写入权限"), ("Disk quota", "超出磁盘配额"))


def write_problem(e: BaseException) -> str:
    """What a failed write says to users when the disk is full, read-only or not ours; else ''."""
    if isinstance(e, OSError) and store.is_disk_error(e):
        return os_reason(e)
    if isinstance(e, sqlite3.OperationalError):
        return next((why for marker, why in _SQLITE_WRITE_REASONS if marker in str(e)), "")
    return ""


# SQLite says why a write failed in English; users read it in Chinese.
_SQLITE_WRITE_REASONS = (("full", "磁盘已满"), ("readonly", "只读文件系统"), ("unable to open", "无法打开数据库文件"),
                         ("disk I/O error", "磁盘读写错误"))
