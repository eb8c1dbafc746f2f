"""How many other documents of a corpus cite each document by its title (`《中华人民共和国民法典》`,
`《民法典》`): an authority prior for search, from the corpus itself.

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

_CITED = re.compile(r"《([^《》\n]{2,60})》")
_COUNTRY = re.compile(r"^中华人民共和国")
_EDITION = re.compile(r"[（(][^（）()]*[）)]$")
# The count at which the prior is full: a document cited by a hundred others.
FULL_AT = 100


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


def prior(counts: Iterable[int]) -> np.ndarray:
    """Counts as a prior in 0…1: log-scaled, full at FULL_AT citing documents."""
    c = np.asarray(list(counts), dtype=np.float64)
    return np.clip(np.log1p(c) / math.log1p(FULL_AT), 0.0, 1.0)
