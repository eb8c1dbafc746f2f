"""Batch files of questions: JSONL with a `question` field, or one query per line."""

from __future__ import annotations

import json
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

from ..search.inputs import MAX_BATCH_BYTES, MAX_BATCH_LINES, InputTooLarge


class BatchFileError(PolicyQAError):
    """The batch file cannot be read at all."""


def read_batch(path: Path) -> list[tuple[int, str | None, str | None]]:
    """(line number, question, error) for each non-blank line of a batch file.

    A file whose first line is a JSON object is read as JSONL: every line must be an object
    with a `question`. Otherwise every line is a query. The file's size and number of lines
    are checked before anything is searched; a long line is searched by its beginning."""
    try:
        size = path.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise InputTooLarge(f"批量查询文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_BATCH_BYTES // 1024 // 1024} MB）：请拆分")
        data = path.read_bytes()
    except OSError as e:
        raise BatchFileError(f"无法读取批量查询文件 {path}：{os_reason(e)}") from e
    lines = data.split(b"\n")
    if sum(1 for raw in lines if raw.strip()) > MAX_BATCH_LINES:
        raise InputTooLarge(f"批量查询文件的查询超过 {MAX_BATCH_LINES} 行：请拆分")
    items = []
    jsonl = None
    for n, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError:
            items.append((n, None, "不是合法的 UTF-8 文本"))
            continue
        if not line:
            continue
        if jsonl is None:
            jsonl = line.startswith("{")
        if line.startswith("{") or jsonl:
            try:
                obj = json.loads(line)
            except ValueError:
                items.append((n, None, "不是合法的 JSON"))
                continue
            question = obj.get("question") if isinstance(obj, dict) else None
            if not isinstance(question, str) or not question.strip():
                items.append((n, None, "缺少 question 字段"))
                continue
            items.append((n, question.strip(), None))
        else:
            items.append((n, line, None))
    return items
