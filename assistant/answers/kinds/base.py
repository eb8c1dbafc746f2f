"""What every question kind shares: the question as read (its scope, its topic) with the means to
search and extract, and the record a kind registers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ...search.engine import SearchEngine
from ...search.query import Filters
from ...search.results import SearchResult
from ..asked import GENERIC
from ..record import Answer, AnswerPoint
from ..scope import Placed, Scope


@dataclass
class Asking:
    question: str
    scope: Scope
    placed: Placed
    engine: SearchEngine
    # the relevant passages for a query within filters (the look-up's own search and floor)
    search: Callable[[str, Filters, int], list[SearchResult]]
    # points and a gap notice from passages, as a look-up extracts them
    extract: Callable[[str, list[SearchResult]], tuple[list[AnswerPoint], str]]
    filters: Filters | None = None
    k: int = 5

    def topic(self, asking: re.Pattern | None = None) -> str:
        """The question without its scope words and its asking words: what it is about."""
        text = self.question
        if asking is not None:
            text = asking.sub(" ", text)
        for word in sorted(self.scope.words + self.scope.kind_words + _region_words(self.scope), key=len, reverse=True):
            text = text.replace(word, " ")
        text = re.sub(r"(?:19|20)\d{2}\s*年(?:度)?|最新|最近|现行|今年|去年|明年|近[一二两三四五六七八九十\d]{1,2}年", " ", text)
        text = re.sub(r"[？?。！!，,、]", " ", text)
        parts = [p.strip(" 的在上中里对了和与及之") for p in text.split()]
        return "".join(p for p in parts if p)

    def core(self, asking: re.Pattern | None = None) -> str:
        """The topic without the words that only say what kind of answer is wanted (`要求`, `工作`,
        `目标`) at its ends: `三会一课上的要求` → `三会一课`, `统战工作` → `统战`."""
        return core_of(self.topic(asking))

    def answer(self, kind: str, **fields) -> Answer:
        return Answer(self.question, "ok", kind=kind, scope=self.scope_json(), **fields)

    def scope_json(self) -> dict:
        return {**self.scope.to_json(), "met": self.placed.met, "substituted": self.placed.substituted,
                "documents": [d.title for d in self.placed.docs][:20] if self.scope else []}


_EDGE = "的在上中里对了和与及之有是"


def core_of(topic: str) -> str:
    generic = sorted((w for w in GENERIC if len(w) >= 2), key=len, reverse=True)
    core, changed = topic, True
    while changed:
        changed = False
        stripped = core.strip(_EDGE)
        for w in generic:
            if stripped.endswith(w) and len(stripped) - len(w) >= 2:
                stripped, changed = stripped[:-len(w)], True
            if stripped.startswith(w) and len(stripped) - len(w) >= 2:
                stripped, changed = stripped[len(w):], True
        changed = changed or stripped != core
        core = stripped
    return core


def _region_words(scope: Scope) -> list[str]:
    out = []
    for r in scope.regions:
        out += [r, re.sub(r"(?:区|县|市|省|自治区|旗)$", "", r)]
    return out + scope.unknown_places


@dataclass(frozen=True)
class Kind:
    """A kind of question: its name, the wording that marks it, and how it is answered (None: not
    this kind after all, answer it as a look-up)."""

    name: str
    pattern: re.Pattern
    answer: Callable[[Asking], Answer | None]

    def matches(self, question: str) -> bool:
        return bool(self.pattern.search(question))
