"""What the assistant needs from a search engine, and how one is opened.

Answers, precedents, comparisons, draft checks, the page and the CLI use an index only
through `SearchEngine`. The local engine (`retrieve.Searcher` over one index directory:
FAISS, BM25, SQLite) is one implementation. Another backend, for instance OpenSearch with
a jieba analyzer and `dense_vector` kNN, lives in its own package and registers a factory
under the entry-point group `policyqa.engines` (and, to be written by `policyqa index --to`,
a publisher under `policyqa.publishers`), as assistant/backends/milvus does:

    [project.entry-points."policyqa.engines"]
    milvus = "assistant.backends.milvus:open_engine"

`policyqa search … --index opensearch://host:9200/policies` then reaches it through
`open_engine`, with nothing in `assistant/` changed. A factory takes the location string
and keyword options (`model`) and returns an object with the methods below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from indexer.store import IndexProblem

if TYPE_CHECKING:
    import numpy as np

    from indexer.store import DocumentRow, SectionRow

    from .query import Filters
    from .results import SearchResult

ENTRY_POINT_GROUP = "policyqa.engines"
PUBLISHER_GROUP = "policyqa.publishers"  # writers: `policyqa index CORPUS --to scheme://…`
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_registered: dict[str, Callable[..., SearchEngine]] = {}


class EngineNotFound(IndexProblem):
    """No backend serves this kind of location; the message is for users."""


@runtime_checkable
class SearchEngine(Protocol):
    """A searchable corpus of policy documents, cut into sections.

    Records are `indexer.store.DocumentRow` / `SectionRow` and `retrieve.SearchResult`;
    section ids are `<doc_id>#<section key>`.
    """

    @property
    def manifest(self) -> dict:
        """Model name, counts and build information (the local engine's config.json)."""

    @property
    def model_name(self) -> str:
        """The embedding model; answers calibrate their relevance floor by it."""

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        """The best `k` sections for a query, one result per section, best first."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised embeddings of texts with the index's model (answers compare sentences)."""

    def documents(self) -> list[DocumentRow]:
        """Every document, in a stable order."""

    def document(self, doc_id: str) -> DocumentRow | None:
        ...

    def document_text(self, doc_id: str) -> str:
        """The cleaned text that section offsets refer to."""

    def sections(self, doc_id: str) -> list[SectionRow]:
        """A document's sections in reading order; `has_text` marks those with text of their own."""

    def section(self, section_id: str) -> SectionRow | None:
        ...

    def in_scope(self, filters: Filters | None) -> set[str] | None:
        """The doc ids the filters allow, or None when nothing is filtered."""

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        """How many chunks contain each word, and the number of chunks (for IDF)."""

    def close(self) -> None:
        ...


def register(scheme: str, factory: Callable[..., SearchEngine]) -> None:
    """Make `scheme://…` locations open with `factory` in this process."""
    _registered[scheme.lower()] = factory


def scheme_of(location: str | Path) -> str | None:
    m = _SCHEME.match(str(location))
    return m.group(1).lower() if m else None


def is_local(location: str | Path) -> bool:
    return scheme_of(location) is None


def available_schemes() -> list[str]:
    return sorted({*_registered, *(ep.name for ep in _entry_points())})


def open_engine(location: str | Path, *, model: str | None = None, embedder=None, thesaurus=None) -> SearchEngine:
    """The engine for an index directory, or for `scheme://…` served by a registered backend."""
    scheme = scheme_of(location)
    if scheme is None:
        from .index import load_index
        from .retrieve import Searcher

        return Searcher(load_index(Path(location), model=model), embedder, thesaurus=thesaurus)
    factory = _registered.get(scheme) or _entry_point_factory(scheme)
    if factory is None:
        known = "、".join(available_schemes()) or "无"
        raise EngineNotFound(f"没有能打开 {scheme}:// 的搜索后端（已安装：{known}）。"
                             f"请安装在入口点组 {ENTRY_POINT_GROUP} 中注册 {scheme} 的包，或用索引文件夹。")
    return factory(str(location), model=model)


def publisher_for(location: str) -> Callable:
    """The function that writes a corpus into `scheme://…`: publish(corpus, location, **options)."""
    scheme = scheme_of(location)
    factory = _entry_point_factory(scheme, PUBLISHER_GROUP) if scheme else None
    if factory is None:
        known = "、".join(sorted(ep.name for ep in _entry_points(PUBLISHER_GROUP))) or "无"
        raise EngineNotFound(f"没有能写入 {scheme or str(location)} 的搜索后端（已安装：{known}）。"
                             f"Milvus 需要：pip install 'policyqa[milvus]'")
    return factory


def _entry_points(group: str = ENTRY_POINT_GROUP):
    from importlib.metadata import entry_points

    return entry_points(group=group)


def _entry_point_factory(scheme: str, group: str = ENTRY_POINT_GROUP):
    for ep in _entry_points(group):
        if ep.name.lower() == scheme:
            try:
                return ep.load()
            except ImportError as e:
                raise EngineNotFound(f"搜索后端 {scheme} 无法加载（{e}）：请安装它的依赖，"
                                     f"例如 pip install 'policyqa[{scheme}]'") from e
    return None
