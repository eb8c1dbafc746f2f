"""Limits on what users type or send, checked before any work starts.

Every text input has one (the README lists them): a question or search query, a
precedents topic, a draft for the draft check, a batch file and its lines. A query or a
topic that is too long is searched by its beginning, with a notice; a draft or a batch
file that is too large is refused, since part of it would give a wrong report.
"""

from __future__ import annotations

from indexer.errors import PolicyQAError

MAX_QUERY_CHARS = 1000  # a question or search query (the models read 512 tokens at most anyway)
MAX_TOPIC_CHARS = 2000  # a precedents topic or pasted paragraph
MAX_DRAFT_CHARS = 200_000  # a whole draft plan (the longest seed plan has 23 000 characters)
MAX_DRAFT_ITEMS = 300  # items of a draft, each searched for its precedents
MAX_BATCH_BYTES = 20 * 1024 * 1024  # a batch file
MAX_BATCH_LINES = 10_000  # queries in a batch file
# A pasted text is looked at up to this many characters: enough to find its first
# MAX characters after control characters and runs of spaces are dropped.
_LOOK_AT = 8


class InputTooLarge(PolicyQAError, ValueError):
    """An input over its limit that cannot be shortened without giving a wrong result."""


def head(text: str | None, limit: int) -> str:
    """The part of a pasted text that cleaning and searching may look at."""
    return (text or "")[: _LOOK_AT * limit]


def too_long(text: str | None, limit: int) -> bool:
    """Whether `text`, with runs of spaces as one, is longer than `limit`."""
    text = text or ""
    if len(text) <= limit:
        return False
    return len(text) > _LOOK_AT * limit or len(" ".join(text.split())) > limit


def topic_notice(text: str | None) -> str:
    if too_long(text, MAX_TOPIC_CHARS):
        return f"主题超过 {MAX_TOPIC_CHARS} 字，只按前 {MAX_TOPIC_CHARS} 字查找先例。"
    return ""


def shorten_topic(text: str | None) -> str:
    return " ".join(head(text, MAX_TOPIC_CHARS).split())[:MAX_TOPIC_CHARS]


def check_draft_size(text: str | None) -> str:
    text = text or ""
    if len(text) > MAX_DRAFT_CHARS:
        raise InputTooLarge(f"草稿过长（{len(text):,} 字，上限 {MAX_DRAFT_CHARS:,} 字）：请只粘贴一份工作要点或计划")
    return text


def check_draft_items(n: int) -> None:
    if n > MAX_DRAFT_ITEMS:
        raise InputTooLarge(f"草稿条目过多（{n} 条，上限 {MAX_DRAFT_ITEMS} 条）：请分成几份检查")
