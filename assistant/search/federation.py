"""Several libraries searched as one (`engine.SearchEngine`).

Each library proposes its candidates and ranks them as it does alone (retrieve.Searcher.pool and
rank: its own BM25 statistics, its own fusion), so searching it beside others never reorders its
results. What merges them is a level on one scale: the candidates of all the libraries fused
together, standardised over the union (indexer/fusion.py) with each word's BM25 weighed by its
IDF over every library's chunks, so a library whose best passage is weak does not put it level
with another's strong one; a library's i-th result takes the i-th best of its candidates'
common scores. Copies across libraries are folded. Ranked from the common scores alone, a
library's order changed when the others joined it (the 72 reports and the seeds beside the
whole laws/ corpus: LawBench cover@5 0.2104 → 0.1904); kept, it is 0.2064, the difference two
questions where another library's passage takes a place (EQUALS 0.5103 alone and together).
An engine without candidate pools (another backend) merges by its results' relevance instead.


Documents keep their ids; a result says its library (`SearchResult.library`, shown in its
citation). Every library must use the same embedding model (loaded once for all, and the
question encoded once).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from indexer.store import IndexProblem

from .collection import Collection
from .results import fold_copies
from .retrieve import COMMON, Together

if TYPE_CHECKING:
    from indexer.store import DocumentRow, SectionRow

    from .engine import SearchEngine
    from .query import Filters
    from .results import SearchResult


class Federation:
    def __init__(self, members: dict[str, SearchEngine]):
        if not members:
            raise IndexProblem("没有可检索的库")
        models = {m.model_name for m in members.values()}
        if len(models) > 1:
            raise IndexProblem(f"这些库使用不同的向量模型（{'、'.join(sorted(models))}），不能一起检索；请用同一模型重建")
        self.members = dict(members)
        self._owner: dict[str, str] | None = None
        self._collection: Collection | None = None
        self._global_df: tuple[dict[str, int], int] | None = None

    # -- what the engine is --------------------------------------------------------------

    @property
    def manifest(self) -> dict:
        first = next(iter(self.members.values())).manifest
        return {**first, "libraries": {name: m.manifest for name, m in self.members.items()},
                "documents": sum(len(m.documents()) for m in self.members.values())}

    @property
    def model_name(self) -> str:
        return next(iter(self.members.values())).model_name

    def encode(self, texts: list[str]) -> np.ndarray:
        return next(iter(self.members.values())).encode(texts)

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            self._collection = Collection(self.documents())
        return self._collection

    # -- documents -------------------------------------------------------------------------

    def owner(self, doc_id: str) -> str | None:
        """The library that holds a document (the first, if two hold the same file)."""
        if self._owner is None:
            owner: dict[str, str] = {}
            for name, m in self.members.items():
                for d in m.documents():
                    owner.setdefault(d.doc_id, name)
            self._owner = owner
        return self._owner.get(doc_id)

    def _member_of(self, doc_id: str) -> SearchEngine | None:
        name = self.owner(doc_id)
        return self.members[name] if name is not None else None

    def documents(self) -> list[DocumentRow]:
        seen, out = set(), []
        for m in self.members.values():
            for d in m.documents():
                if d.doc_id not in seen:
                    seen.add(d.doc_id)
                    out.append(d)
        return out

    def document(self, doc_id: str) -> DocumentRow | None:
        m = self._member_of(doc_id)
        return m.document(doc_id) if m is not None else None

    def document_text(self, doc_id: str) -> str:
        m = self._member_of(doc_id)
        return m.document_text(doc_id) if m is not None else ""

    def sections(self, doc_id: str) -> list[SectionRow]:
        m = self._member_of(doc_id)
        return m.sections(doc_id) if m is not None else []

    def section(self, section_id: str) -> SectionRow | None:
        m = self._member_of(section_id.partition("#")[0])
        return m.section(section_id) if m is not None else None

    def in_scope(self, filters: Filters | None) -> set[str] | None:
        scopes = [m.in_scope(filters) for m in self.members.values()]
        if all(s is None for s in scopes):
            return None
        return set().union(*(s if s is not None else {d.doc_id for d in m.documents()}
                             for s, m in zip(scopes, self.members.values(), strict=True)))

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        total: dict[str, int] = {}
        count = 0
        for m in self.members.values():
            df, n = m.document_frequencies()
            for word, c in df.items():
                total[word] = total.get(word, 0) + c
            count += n
        return total, count

    def close(self) -> None:
        for m in self.members.values():
            m.close()

    # -- search ----------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        if all(hasattr(m, "pool") for m in self.members.values()):
            ranked = self._fused(query, k, filters)
        else:
            ranked = [self._labelled(name, m.search(query, k, filters)) for name, m in self.members.items()]
            ranked = sorted((r for rs in ranked for r in rs), key=lambda r: r.score, reverse=True)
        kept = fold_copies(ranked)[:k]
        for rank, r in enumerate(kept, start=1):
            r.rank = rank
        return kept

    def _fused(self, query: str, k: int, filters: Filters | None) -> list[SearchResult]:
        """Each library's results in its own order, as it ranks them alone; their levels, which
        merge them, from the fusion of every library's candidates on one scale: a library's i-th
        result takes the i-th best common score among its own."""
        encodings: dict = {}  # the question encoded once for every library (one model)
        pools = [(name, m, m.pool(query, k, filters, Together(self._word_scale(m), encodings)))
                 for name, m in self.members.items()]
        pools = [(name, m, p) for name, m, p in pools if p is not None]
        if not pools:
            return []
        common = [_common_signals(p.signals) for _, _, p in pools]
        keys = set.intersection(*(set(c) for c in common))
        levels = pools[0][1].fusion.combine({key: np.concatenate([c[key] for c in common]) for key in keys})
        results, at = [], 0
        for name, m, p in pools:
            own = m.rank(p, m.fusion.combine(_own_signals(p.signals)), k)
            if len(pools) > 1:
                _take_levels(own, m.rank(p, levels[at:at + len(p.rows)], k))
            results += self._labelled(name, own)
            at += len(p.rows)
        return sorted(results, key=lambda r: r.fused, reverse=True)

    def _word_scale(self, member):
        """A word's BM25 in one library times this is its BM25 with the IDF of all the libraries'
        chunks together, as one index of all of them would weigh it (BM25 is IDF times a term
        part of the chunk alone)."""
        if self._global_df is None:
            self._global_df = self.document_frequencies()
        df_all, n_all = self._global_df
        df_own, n_own = member.document_frequencies()

        def scale(word: str) -> float:
            own = _idf(df_own.get(word, 0), n_own)
            return _idf(df_all.get(word, 0), n_all) / own if own > 0 else 1.0

        return scale

    def _labelled(self, name: str, results: list[SearchResult]) -> list[SearchResult]:
        if len(self.members) > 1:
            for r in results:
                r.library = name
                for c in r.copies:
                    c.library = name
        return results


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))  # BM25's (Lucene's), as bm25s computes it


def _own_signals(signals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: v for key, v in signals.items() if not key.startswith(COMMON)}


def _common_signals(signals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = _own_signals(signals)
    out.update({key[len(COMMON):]: v for key, v in signals.items() if key.startswith(COMMON)})
    return out


def _take_levels(own: list[SearchResult], levelled: list[SearchResult]) -> None:
    """Give a library's results, in their own order, its best scores on the common scale."""
    levels = sorted((r.fused for r in levelled), reverse=True)
    for i, r in enumerate(own):
        r.fused = levels[min(i, len(levels) - 1)] if levels else r.fused
