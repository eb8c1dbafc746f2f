"""Lookup by citation: a query that names an article (`劳动合同法 第十条`,
`劳动合同法第10条`) puts that article first, whatever the similarity scores say."""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.chinese import to_simplified
from indexer.textutil import article_label

from .index import PolicyIndex

_CN = "一二三四五六七八九十百千零〇两"
ARTICLE = re.compile(rf"第\s*(?P<n>[{_CN}\d]+)\s*条(?P<sub>之[{_CN}]+)?")
_NOISE = re.compile(r"[\s《》〈〉“”\"'()（）,，。：:、的]+")
_PREFIXES = ("中华人民共和国",)
def _short_title(title: str) -> str:
    t = _NOISE.sub("", to_simplified(title))
    for prefix in _PREFIXES:
        if t.startswith(prefix) and len(t) > len(prefix):
            t = t[len(prefix):]
    return re.sub(r"[（(].*?[)）]$", "", t)


@dataclass
class Reference:
    title: str  # what the query calls the document, without the article
    label: str  # the article as laws write it: 第十条, 第一百二十条之一


def parse_reference(query: str) -> Reference | None:
    m = ARTICLE.search(query or "")
    if not m:
        return None
    label = article_label(m.group("n"), m.group("sub") or "")
    title = _short_title(query[:m.start()]) or _short_title(query[m.end():])
    return Reference(title, label) if title else None


def cited_documents(documents, query: str, allowed=None) -> tuple[list, str]:
    """The documents a query cites, best-named first, and the article label it names."""
    ref = parse_reference(query)
    if ref is None:
        return [], ""
    ranked = []
    for n, d in enumerate(documents):
        if allowed is not None and not allowed(d):
            continue
        short = _short_title(d.title)
        if short == ref.title:
            ranked.append((0, n, d))
        elif ref.title in short or (len(short) >= 2 and short in ref.title):
            ranked.append((1, n, d))
    return [d for _, _, d in sorted(ranked, key=lambda t: t[:2])], ref.label


def referenced_sections(index: PolicyIndex, query: str, allowed_docs=None) -> list[int]:
    """Rows of the sections a query cites in a local index, best-named document first."""
    allowed = None if allowed_docs is None else (lambda d: bool(allowed_docs[d.row]))
    docs, label = cited_documents(index.documents, query, allowed)
    rows = []
    for d in docs:
        rows += [s.row for s in index.sections_of(d.row) if s.path and s.path[-1] == label]
    return rows
