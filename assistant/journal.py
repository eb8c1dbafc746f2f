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
import threading
import time
from collections import Counter
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

MAX_COMMENT = 500
SHOWN = 200  # entries an administrator sees at once


class JournalError(PolicyQAError):
    pass


class JsonLines:
    """An append-only JSON-lines file, safe to write from several threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict) -> dict:
        record = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), **record}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
            except OSError as e:
                raise JournalError(f"无法写入 {self.path}：{os_reason(e)}") from e
        return record

    def read(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as e:
            raise JournalError(f"无法读取 {self.path}") from e
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
        return self.append({"action": action, "user": user or "-", "document": document, **detail})

    def latest(self, n: int = SHOWN) -> list[dict]:
        return self.read()[-n:][::-1]


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


def beside(index_dir: Path, suffix: str) -> Path:
    """`<index>.audit.jsonl` beside the index folder (a rebuild replaces the folder whole)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.{suffix}"
