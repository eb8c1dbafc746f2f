"""How many other documents of a corpus cite each document by its title (`《中华人民共和国民法典》`,
`《民法典》`), and each article by title and number (`《劳动合同法》第四十七条`): an authority prior
for search, from the corpus itself.

A basic law that every interpretation and regulation names is the one a question about its
subject most often needs; a rule that nothing cites is rarely the answer when a cited law says
the same. On notices and plans, which seldom cite each other, the counts are zero and nothing
changes. Titles are compared without `中华人民共和国`, a trailing `（2018年修正）` and a part's
name (`民法典 合同编` counts as `民法典`); a document citing its own title does not count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

from .textutil import article_label

_CITED = re.compile(r"《([^《》\n]{2,60})》")
_ARTICLE_CITED = re.compile(r"《([^《》\n]{2,60})》\s*(?:的)?\s*第\s*([一二三四五六七八九十百千零〇两\d]+)\s*条"
                            r"(之[一二三四五六七八九十]+)?")
_COUNTRY = re.compile(r"^中华人民共和国")
_EDITION = re.compile(r"[（(][^（）()]*[）)]$")
# The counts at which the prior is full: a document cited by a hundred others, an article by ten.
FULL_AT = 100
ARTICLE_FULL_AT = 10


def base_title(title: str) -> str:
    """A title as other documents cite it: `中华人民共和国民法典 合同编` → `民法典`."""
    t = re.sub(r"\s+", " ", title).strip()
    t = _EDITION.sub("", _COUNTRY.sub("", t)).strip()
    return t.split(" ")[0]


def citation_counts(titles: list[str], texts: Iterable[str]) -> list[int]:
    """Per document, the number of other documents (by title) whose text names its title in 《》."""
    bases = [base_title(t) for t in titles]
    known = {b for b in bases if len(b) >= 2}
    citing: dict[str, set[str]] = {}
    for own, text in zip(bases, texts):
        for name in {base_title(m) for m in _CITED.findall(text or "")}:
            if name in known and name != own:
                citing.setdefault(name, set()).add(own)
    return [len(citing.get(b, ())) for b in bases]


def article_citation_counts(titles: list[str], texts: list[str],
                            labels: list[dict[str, list[str]]]) -> list[dict[str, int]]:
    """Per document, its articles (section keys) that other documents cite by title and number.
    `labels[i]`: document i's article labels (`第四十七条`) → the keys of the sections so headed."""
    bases = [base_title(t) for t in titles]
    docs_of: dict[str, list[int]] = {}
    for i, b in enumerate(bases):
        docs_of.setdefault(b, []).append(i)
    citing: dict[tuple[int, str], set[str]] = {}
    for own, text in zip(bases, texts):
        for m in _ARTICLE_CITED.finditer(text or ""):
            name = base_title(m.group(1))
            if name == own or name not in docs_of:
                continue
            label = article_label(m.group(2), m.group(3) or "")
            for i in docs_of[name]:
                for key in labels[i].get(label, ()):
                    citing.setdefault((i, key), set()).add(own)
    out: list[dict[str, int]] = [{} for _ in titles]
    for (i, key), who in citing.items():
        out[i][key] = len(who)
    return out


def citations(doc_ids: list[str], titles: list[str], texts: list[str],
              labels: list[dict[str, list[str]]]) -> dict[str, int]:
    """The cited ones only: `doc_id` → citing documents, and `doc_id#section_key` → citing documents."""
    out = {d: n for d, n in zip(doc_ids, citation_counts(titles, texts)) if n}
    for d, articles in zip(doc_ids, article_citation_counts(titles, texts, labels)):
        out.update({f"{d}#{key}": n for key, n in articles.items()})
    return out


def prior(counts: Iterable[int], full_at: int = FULL_AT) -> np.ndarray:
    """Counts as a prior in 0…1: log-scaled, full at `full_at` citing documents."""
    c = np.asarray(list(counts), dtype=np.float64)
    return np.clip(np.log1p(c) / math.log1p(full_at), 0.0, 1.0)


def chunk_prior(counts: dict[str, int], doc_id: str, section_key: str) -> float:
    """A chunk's prior: its document's and its article's, each in 0…1 as `prior` scales them, summed
    (a scalar: engines call it per candidate)."""
    doc, article = counts.get(doc_id, 0), counts.get(f"{doc_id}#{section_key}", 0)
    return min(1.0, math.log1p(doc) / math.log1p(FULL_AT)) + min(1.0, math.log1p(article) / math.log1p(ARTICLE_FULL_AT))
