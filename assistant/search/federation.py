"""Several libraries searched as one (`engine.SearchEngine`).

Each library proposes its own candidates with their signals (retrieve.Searcher.pool); the
candidates of all of them are fused together, standardised over the union as one library's are
(indexer/fusion.py), so a library whose best passage is weak does not put it level with another's
strong one; each library then ranks its own from the common scores (its standing, citations,
document numbers, passages) and the results merge by that score, copies across libraries folded.
An engine without candidate pools (another backend) merges by its results' relevance instead.

Documents keep their ids; a result says its library (`SearchResult.library`, shown in its
citation). Every library must use the same embedding model: questions are encoded once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from indexer.store import IndexProblem

from .collection import Collection
from .results import fold_copies

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
        pools = [(name, m, m.pool(query, k, filters)) for name, m in self.members.items()]
        pools = [(name, m, p) for name, m, p in pools if p is not None]
        if not pools:
            return []
        fusion = pools[0][1].fusion
        keys = set.intersection(*(set(p.signals) for _, _, p in pools))
        signals = [_lexical_on_own_scale(p.signals, fusion) for _, _, p in pools]
        merged = {key: np.concatenate([s[key] for s in signals]) for key in keys}
        combined = fusion.combine(merged)
        results, at = [], 0
        for name, m, p in pools:
            mine = combined[at:at + len(p.rows)]
            at += len(p.rows)
            results += self._labelled(name, m.rank(p, mine, k))
        return sorted(results, key=lambda r: r.fused, reverse=True)

    def _labelled(self, name: str, results: list[SearchResult]) -> list[SearchResult]:
        if len(self.members) > 1:
            for r in results:
                r.library = name
                for c in r.copies:
                    c.library = name
        return results


def _lexical_on_own_scale(signals: dict[str, np.ndarray], fusion) -> dict[str, np.ndarray]:
    """BM25 over the library's own best for the query, as one library's fusion takes it: raw BM25
    of two indexes is on two scales (their own IDF and lengths); the cosines and the coverage are
    on one."""
    bm25 = signals["bm25_words"] + fusion.expansion_weight * signals["bm25_expansions"]
    top = float(bm25.max()) if len(bm25) else 0.0
    if top <= 0:
        return signals
    return {**signals, "bm25_words": signals["bm25_words"] / top, "bm25_expansions": signals["bm25_expansions"] / top}
