"""Question kinds beyond a look-up: comparisons and series (sides), which documents or years
mention something and which documents there are (collection), overviews and counts
(structure). Each kind is one module that
registers a `base.Kind`; `KINDS` is the order they are tried in, and a kind that finds the
question is not its kind after all returns None, so the look-up answers it. Kinds use the
answer's record and scope, never answer.py (which tries them)."""

from __future__ import annotations

from .base import Asking, Kind
from .collection import CATALOGUE, WHICH
from .sides import COMPARE, SERIES
from .structure import COUNT, OVERVIEW

KINDS: list[Kind] = [COMPARE, SERIES, WHICH, CATALOGUE, COUNT, OVERVIEW]


def kinds_of(question: str) -> list[Kind]:
    """The kinds whose wording the question has, in the order they are tried."""
    return [k for k in KINDS if k.matches(question)]


__all__ = ["KINDS", "Asking", "Kind", "kinds_of"]
