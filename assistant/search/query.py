"""What a user's query becomes before it is searched: cleaned, bounded, filtered, planned.

Shared by every search engine (the local index, Milvus): the same query must be the same
search whatever serves it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from indexer.chinese import to_simplified
from indexer.errors import PolicyQAError
from indexer.places import relation
from indexer.tokenize import tokenize

from .expand import Expansion, Thesaurus, numeral_expansions
from .inputs import MAX_QUERY_CHARS, head

_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


class QueryError(PolicyQAError, ValueError):
    """A query that cannot be searched; the message is for users."""


def _cleaned(text: str) -> str:
    return " ".join(_INVISIBLE.sub(" ", text).split())


def clean_query(query: str | None) -> str:
    """A query as it is searched: control and direction characters out, runs of space as one,
    at most MAX_QUERY_CHARS. Longer queries (a pasted page) are searched by their beginning:
    every word costs a pass over the BM25 index, and the models read 512 tokens at most.
    Only the beginning of a huge input is ever looked at."""
    return _cleaned(head(query, MAX_QUERY_CHARS))[:MAX_QUERY_CHARS]


def query_notice(query: str | None) -> str:
    """What users should know about how their query was taken, or ''."""
    text = query or ""
    if len(text) > MAX_QUERY_CHARS and (len(text) > len(head(text, MAX_QUERY_CHARS))
                                        or len(_cleaned(text)) > MAX_QUERY_CHARS):
        return f"查询超过 {MAX_QUERY_CHARS} 字，只按前 {MAX_QUERY_CHARS} 字检索。"
    return ""


@dataclass
class Filters:
    years: set[int] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    docs: set[str] = field(default_factory=set)  # doc ids, titles or sources (substring match)
    # A preference, not a filter: documents of these years rank higher (`今年` in a question).
    prefer_years: set[int] = field(default_factory=set)
    current_only: bool = False  # leave out documents repealed or replaced by a newer version in the index
    # Doc ids the asker may not read (internal documents, search/veil.py): never searched.
    hidden: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        """Whether anything is filtered out (a preference filters nothing)."""
        return bool(self.years or self.regions or self.docs or self.current_only or self.hidden)


# jieba's search mode gives a compound word and its dictionary pieces (内蒙古 → 内蒙, 蒙古, 内蒙古;
# 中小学生 → 中小, 小学, 学生, 中小学, 小学生, 中小学生), and a text that has the compound has its
# pieces too: counted in full, one compound of a question weighed as two to five of its words, so
# a place name outweighed what was asked about it. A piece of another of the question's words
# counts this much in BM25 and coverage. On every development set together
# (bench/tune_fusion.py, one run): 1 → 0.5 takes NCPQA answer@5 0.934 → 0.939 and doc hit@5
# 0.954 → 0.959, EQUALS cover@5 0.500 → 0.502, LawBench 0.198 → 0.202, dev.jsonl MRR@10 0.983 →
# 1.000 and dev-colloquial recall@5 0.950 → 0.925 (one of a question's two gold sections from
# 5th to 6th); 0.4 and 0.6 do no better, 0 loses NCPQA's gain.
PIECE_WEIGHT = 0.5


def word_weights(words: list[str]) -> dict[str, float]:
    """Each of a question's words (once) with its weight: PIECE_WEIGHT for a piece of another."""
    unique = list(dict.fromkeys(words))
    return {w: PIECE_WEIGHT if any(w != other and w in other for other in unique) else 1.0 for w in unique}


@dataclass
class QueryPlan:
    text: str
    simplified: str
    words: list[str]  # the question's own words
    expansions: list[Expansion]
    expansion_words: dict[str, str]  # word → the everyday wording it came from

    @cached_property
    def weights(self) -> dict[str, float]:
        """The question's words, each once, with their weight in BM25 and coverage."""
        return word_weights(self.words)

    @property
    def expanded(self) -> str:
        return " ".join([self.simplified, *(e.term for e in self.expansions)])


def make_plan(query: str, thesaurus: Thesaurus, in_corpus) -> QueryPlan:
    """The query's words and its thesaurus expansions; `in_corpus(words)` says whether the index
    has an expansion's wording (an expansion from a domain the corpus does not cover would
    only pull the second model towards unrelated text: the thesaurus calibrates itself to
    each index by its vocabulary)."""
    simplified = to_simplified(query)
    words = tokenize(simplified)
    expansions = []
    for e in thesaurus.expand(simplified) + numeral_expansions(simplified):
        parts = [w for w in tokenize(e.term) if w.strip()]
        if parts and in_corpus(parts):
            expansions.append(e)
    extra: dict[str, str] = {}
    for e in expansions:
        for w in tokenize(e.term):
            if w not in words and w not in extra:
                extra[w] = e.source
    return QueryPlan(query, simplified, words, expansions, extra)


_default_thesaurus: Thesaurus | None = None


def default_thesaurus() -> Thesaurus:
    global _default_thesaurus
    if _default_thesaurus is None:
        _default_thesaurus = Thesaurus.default()
    return _default_thesaurus


def check_query(query: str, k: int) -> str:
    query = clean_query(query)
    if not query:
        raise QueryError("查询内容为空，请输入要搜索的问题或关键词")
    if not any(ch.isalnum() for ch in query):
        raise QueryError("查询中没有文字或数字，请输入要搜索的问题或关键词")
    if k < 1:
        raise QueryError("结果数 k 必须大于 0")
    return query


def region_match(region: str, wanted: set[str], places: list[str] | None = None) -> bool:
    """`武进` finds 武进区; `X区` finds only X区. With the document's chain of places, `常州市` finds
    金坛区 (under it) and a 江苏省 document (which applies to it)."""
    if any(w == region or (w and region.startswith(w)) for w in wanted):
        return True
    return bool(places) and any(relation(places, w) for w in wanted)
