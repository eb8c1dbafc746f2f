"""The assistant as a long-running service: one loaded index, swapped for the new
one when a rebuild lands, shared by every request of the page."""

from __future__ import annotations

import threading
from pathlib import Path

from indexer import store
from indexer.embed import Embedder, load_embedder

from .index import PolicyIndex, load_index
from .retrieve import Filters, Searcher, SearchResult


class Service:
    def __init__(self, index_dir: Path, model: str | None = None, embedder: Embedder | None = None):
        self.index_dir = Path(index_dir)
        self.model = model
        self._embedder = embedder
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._stamp: tuple | None = None

    def _manifest_stamp(self) -> tuple | None:
        try:
            st = (self.index_dir / store.MANIFEST).stat()
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            return None

    def searcher(self) -> Searcher:
        """The current searcher; reloads when the index on disk was replaced.

        Until a new index has loaded completely, requests keep the old one.
        """
        stamp = self._manifest_stamp()
        if self._searcher is not None and (stamp is None or stamp == self._stamp):
            return self._searcher
        with self._lock:
            stamp = self._manifest_stamp()
            if self._searcher is not None and (stamp is None or stamp == self._stamp):
                return self._searcher
            try:
                index = load_index(self.index_dir, model=self.model)
            except store.IndexProblem:
                if self._searcher is not None:
                    return self._searcher  # a swap in progress: keep answering from the old index
                raise
            self._searcher = Searcher(index, self.embedder(index))
            self._stamp = stamp
            return self._searcher

    def embedder(self, index: PolicyIndex) -> Embedder:
        if self._embedder is None or self._embedder.name != index.model_name:
            self._embedder = load_embedder(index.model_name)
        return self._embedder

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        return self.searcher().search(query, k=k, filters=filters)

    @property
    def index(self) -> PolicyIndex:
        return self.searcher().index
