"""An engine with some documents out of sight (`engine.SearchEngine`): what a reader of a library
sees when some of its documents are internal (assistant/office/visibility.py).

Every way in hides them: searches never consider them (the hidden ids go into every search's
filters, so they do not even push a visible passage down), the lists and look-ups do not have
them, and the standing and series of the visible documents are worked out among the visible
ones only (a public notice replaced by an internal one is not labelled with the internal one's
title).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .collection import Collection, annotate

INTERNAL, PUBLIC = "internal", "public"  # a document's visibility, as records and files spell it

if TYPE_CHECKING:
    from indexer.store import DocumentRow, SectionRow

    from .engine import SearchEngine
    from .query import Filters
    from .results import SearchResult


class Veiled:
    def __init__(self, engine: SearchEngine, hidden: frozenset[str]):
        self.inner = engine
        self.hidden = frozenset(hidden)
        self._documents = [d for d in engine.documents() if d.doc_id not in self.hidden]
        self._collection: Collection | None = None

    def _filters(self, filters: Filters | None) -> Filters:
        from .query import Filters

        base = filters if filters is not None else Filters()
        return replace(base, hidden=base.hidden | self.hidden)

    # -- what the engine is --------------------------------------------------------------

    @property
    def manifest(self) -> dict:
        inner = self.inner.manifest
        visible = {d.source for d in self._documents}
        files = {s: f for s, f in (inner.get("files") or {}).items() if s in visible}
        return {**inner, "documents": len(self._documents), "files": files}

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode(texts)

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            self._collection = Collection(self._documents)
        return self._collection

    @property
    def fusion(self):
        return self.inner.fusion

    # -- documents -------------------------------------------------------------------------

    def documents(self) -> list[DocumentRow]:
        return list(self._documents)

    def document(self, doc_id: str) -> DocumentRow | None:
        return None if doc_id in self.hidden else self.inner.document(doc_id)

    def document_text(self, doc_id: str) -> str:
        return "" if doc_id in self.hidden else self.inner.document_text(doc_id)

    def sections(self, doc_id: str) -> list[SectionRow]:
        return [] if doc_id in self.hidden else self.inner.sections(doc_id)

    def section(self, section_id: str) -> SectionRow | None:
        return None if section_id.partition("#")[0] in self.hidden else self.inner.section(section_id)

    def in_scope(self, filters: Filters | None) -> set[str] | None:
        return self.inner.in_scope(self._filters(filters))

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        return self.inner.document_frequencies()

    def close(self) -> None:
        pass  # the engine is the library's, shared with its other readers

    # -- search ----------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        return self._seen(self.inner.search(query, k=k, filters=self._filters(filters)), filters)

    def _seen(self, results: list[SearchResult], filters: Filters | None) -> list[SearchResult]:
        for r in results:
            r.copies = [c for c in r.copies if c.doc_id not in self.hidden]
        return annotate(results, self.collection, filters.regions if filters is not None else None)

    def __getattr__(self, name: str):
        # The local engine's candidate pools, for searching several libraries as one
        # (federation.py); nothing else of the engine is reached through the veil.
        if name in ("pool", "rank") and hasattr(self.inner, name):
            return getattr(self, f"_{name}")
        raise AttributeError(name)

    def _pool(self, query: str, k: int, filters: Filters | None = None, together=None):
        return self.inner.pool(query, k, self._filters(filters), together)

    def _rank(self, pool, combined: np.ndarray, k: int) -> list[SearchResult]:
        return self._seen(self.inner.rank(pool, combined, k), pool.filters)
