"""What happened on the page, kept as JSON lines an office can read and back up.

- The audit log: logins (and failed ones), uploads, removals, restores and rebuilds, each
  with the time, the user and the document.
- Feedback: 有用 / 没用 on an answer with an optional comment, and every question that was
  answered `没有找到`. Administrators see the questions that went unanswered or were marked
  没用, most frequent first: the list from which the thesaurus and the corpus grow.

Both files live beside the index folder, not in it (a rebuild replaces the index folder
whole): `<index>.audit.jsonl` and `<index>.feedback.jsonl` unless configured.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

MAX_COMMENT = 500
MAX_FIELD = 500  # characters of any one value written to a log
MAX_NAME = 64  # a user name as logged (no account's name is longer)
SHOWN = 200  # entries an administrator sees at once


class JournalError(PolicyQAError):
    pass


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


class JsonLines:
    """An append-only JSON-lines file, safe to write from several threads, that rotates by
    size: past `max_bytes` it becomes `<name>.1` (the older ones `.2` … up to `backups`, the
    oldest dropped), so a flood of entries costs at most (backups + 1) × max_bytes of disk.
    (logging's RotatingFileHandler does the same but swallows write errors; a full disk must
    reach the caller here.)"""

    def __init__(self, path: Path, max_bytes: int | None = None, backups: int | None = None):
        self.path = Path(path)
        self.max_bytes = max_bytes or _setting("POLICYQA_JOURNAL_MAX_MB", 10) * 1024 * 1024
        self.backups = backups or _setting("POLICYQA_JOURNAL_FILES", 5)
        self._lock = threading.Lock()

    def append(self, record: dict) -> dict:
        record = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), **record}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.path.exists() and self.path.stat().st_size + len(line) > self.max_bytes:
                    self._rotate()
                with open(self.path, "ab") as f:
                    f.write(line)
            except OSError as e:
                raise JournalError(f"无法写入 {self.path}：{os_reason(e)}") from e
        return record

    def _rotate(self) -> None:
        older = [self.path.with_name(f"{self.path.name}.{n}") for n in range(1, self.backups + 1)]
        older[-1].unlink(missing_ok=True)
        for n in range(len(older) - 1, 0, -1):
            if older[n - 1].exists():
                os.replace(older[n - 1], older[n])
        os.replace(self.path, older[0])

    def read(self) -> list[dict]:
        """Every entry of the current file (at most max_bytes)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise JournalError(f"无法读取 {self.path}") from e
        return _entries(data.splitlines())

    def tail(self, n: int) -> list[dict]:
        """The last `n` entries, read from the end of the file: an administrator's look at a
        large log reads a few blocks, not the whole file."""
        try:
            with open(self.path, "rb") as f:
                end = f.seek(0, os.SEEK_END)
                data, at = b"", end
                while at > 0 and data.count(b"\n") <= n:
                    step = min(64 * 1024, at)
                    at -= step
                    f.seek(at)
                    data = f.read(step) + data
        except FileNotFoundError:
            return []
        except OSError as e:
            raise JournalError(f"无法读取 {self.path}") from e
        lines = data.splitlines()
        return _entries(lines[1:] if at > 0 else lines)[-n:]


def _entries(lines: list[bytes]) -> list[dict]:
    out = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash: the others still count
        if isinstance(row, dict):
            out.append(row)
    return out


class Audit(JsonLines):
    def record(self, action: str, user: str = "", document: str = "", **detail) -> dict:
        detail = {k: v[:MAX_FIELD] if isinstance(v, str) else v for k, v in detail.items()}
        return self.append({"action": action, "user": (user or "-")[:MAX_NAME], "document": document[:MAX_FIELD],
                            **detail})

    def latest(self, n: int = SHOWN) -> list[dict]:
        return self.tail(n)[::-1]


class Feedback(JsonLines):
    def vote(self, question: str, useful: bool, comment: str = "", user: str = "", understood: str = "",
             status: str = "ok") -> dict:
        return self.append({"kind": "vote", "useful": bool(useful), "question": question[:500],
                            "understood": understood[:500], "status": status, "user": user or "-",
                            "comment": (comment or "").strip()[:MAX_COMMENT]})

    def unanswered(self, question: str, user: str = "") -> dict:
        return self.append({"kind": "not_found", "question": question[:500], "user": user or "-"})

    def to_improve(self, n: int = SHOWN) -> list[dict]:
        """Questions answered `没有找到` or marked 没用, most frequent first."""
        counts: Counter[str] = Counter()
        notes: dict[str, list[str]] = {}
        why: dict[str, set[str]] = {}
        for row in self.read():
            if row.get("kind") == "not_found" or (row.get("kind") == "vote" and not row.get("useful")):
                q = row.get("understood") or row.get("question", "")
                counts[q] += 1
                why.setdefault(q, set()).add("没有找到" if row.get("kind") == "not_found" else "没用")
                if row.get("comment"):
                    notes.setdefault(q, []).append(row["comment"])
        return [{"question": q, "times": c, "why": "、".join(sorted(why[q])), "comments": notes.get(q, [])[-3:]}
                for q, c in counts.most_common(n)]


def library_home(location: str | Path) -> Path:
    """Where a library's own files go beside it: its index folder, or, for a backend's library
    (`milvus://…`), a folder of this machine's cache named after its address."""
    from indexer.cache import policyqa_cache

    from ..search.engine import is_local

    if is_local(location):
        return Path(location)
    return policyqa_cache() / "journal" / re.sub(r"[^\w.-]+", "-", str(location))


def beside(index_dir: Path, suffix: str) -> Path:
    """`<index>.audit.jsonl` beside the index folder (a rebuild replaces the folder whole)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.{suffix}"
