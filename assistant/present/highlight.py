"""Snippets of a passage around the query's words, with those words marked."""

from __future__ import annotations

import re

from indexer.tokenize import tokenize


def query_terms(query: str) -> list[str]:
    """Words of the query worth marking: two characters or more, longest first."""
    terms = {t for t in tokenize(query) if len(t) >= 2}
    return sorted(terms, key=len, reverse=True)


def _pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t in terms), re.I)


def find_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    pattern = _pattern(terms)
    return [m.span() for m in pattern.finditer(text)] if pattern else []


def snippet(text: str, terms: list[str], width: int = 120) -> tuple[str, int]:
    """The window of `width` characters holding the most query words, and its offset."""
    flat = text.replace("\n", " ")
    if len(flat) <= width:
        return flat, 0
    spans = find_spans(flat, terms)
    if not spans:
        return flat[:width] + "…", 0
    best_start, best_hits = 0, -1
    for s, _ in spans:
        start = max(0, min(s - width // 4, len(flat) - width))
        hits = sum(1 for a, b in spans if start <= a and b <= start + width)
        if hits > best_hits:
            best_start, best_hits = start, hits
    piece = flat[best_start:best_start + width]
    return ("…" if best_start else "") + piece + ("…" if best_start + width < len(flat) else ""), best_start


def mark(text: str, terms: list[str], before: str, after: str) -> str:
    pattern = _pattern(terms)
    if pattern is None:
        return text
    return pattern.sub(lambda m: f"{before}{m.group()}{after}", text)
