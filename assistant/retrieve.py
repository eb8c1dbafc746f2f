"""Hybrid search: dense (FAISS inner product on normalised vectors) and BM25 over
jieba words, fused by reciprocal rank, one result per section, with filters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from indexer.chinese import to_simplified
from indexer.embed import Embedder, load_embedder
from indexer.tokenize import tokenize

from .index import PolicyIndex
from .reference import referenced_sections

MIN_CANDIDATES = 200


@dataclass(frozen=True)
class Fusion:
    """How dense and keyword scores combine; tuned with bench/tune_fusion.py.

    `score`: cosine similarity + bm25_weight × BM25 / best BM25 of the query.
    `rrf`: Σ weight / (rrf_k + rank) over the two rankings.
    """

    method: str = "score"
    dense_weight: float = 1.0
    bm25_weight: float = 0.2
    rrf_k: int = 60

    @classmethod
    def from_manifest(cls, manifest: dict) -> Fusion:
        conf = manifest.get("retrieval", {}).get("fusion") or {}
        known = {k: v for k, v in conf.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
        if self.method == "rrf":
            fused: dict[int, float] = {}
            for w, scores in ((self.dense_weight, dense), (self.bm25_weight, lexical)):
                for rank, row in enumerate(sorted(scores, key=scores.get, reverse=True), start=1):
                    fused[row] = fused.get(row, 0.0) + w / (self.rrf_k + rank)
            return fused
        top = max(lexical.values(), default=0.0) or 1.0
        return {row: self.dense_weight * dense.get(row, 0.0) + self.bm25_weight * lexical.get(row, 0.0) / top
                for row in set(dense) | set(lexical)}

    @property
    def best_possible(self) -> float:
        if self.method == "rrf":
            return (self.dense_weight + self.bm25_weight) / (self.rrf_k + 1)
        return self.dense_weight + self.bm25_weight


class QueryError(ValueError):
    """A query that cannot be searched; the message is for users."""


@dataclass
class Filters:
    years: set[int] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    docs: set[str] = field(default_factory=set)  # doc ids, titles or sources (substring match)

    def __bool__(self) -> bool:
        return bool(self.years or self.regions or self.docs)


@dataclass
class SearchResult:
    rank: int
    score: float
    doc_id: str
    title: str
    source: str
    year: int | None
    region: str
    section_id: str
    section_path: list[str]
    text: str
    start: int
    end: int
    doc_type: str = ""
    org: str = ""
    doc_number: str = ""
    date: str = ""
    dense: float = 0.0
    bm25: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def citation(self) -> str:
        head = " · ".join(str(x) for x in (self.title, self.year, self.region) if x)
        return " › ".join([head, *self.section_path])


class Searcher:
    def __init__(self, index: PolicyIndex, embedder: Embedder | None = None, fusion: Fusion | None = None):
        self.index = index
        self.fusion = fusion or Fusion.from_manifest(index.manifest)
        self.embedder = embedder or load_embedder(index.model_name)
        self._doc_year = np.array([d.year or 0 for d in index.documents], dtype=np.int32)

    # -- filters -----------------------------------------------------------------

    def allowed_docs(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        ok = np.ones(len(self.index.documents), dtype=bool)
        if filters.years:
            ok &= np.isin(self._doc_year, list(filters.years))
        if filters.regions:
            ok &= np.array([_region_match(d.region, filters.regions) for d in self.index.documents])
        if filters.docs:
            ok &= np.array([any(f in (d.doc_id, d.source) or f in d.title for f in filters.docs)
                            for d in self.index.documents])
        return ok

    # -- search ------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        query = (query or "").strip()
        if not query:
            raise QueryError("查询内容为空，请输入要搜索的问题或关键词")
        if k < 1:
            raise QueryError("结果数 k 必须大于 0")
        filters = filters or Filters()
        allowed = self.allowed_docs(filters)
        chunk_mask = None if allowed is None else allowed[self.index.chunk_doc]
        if self.index.size == 0 or (chunk_mask is not None and not chunk_mask.any()):
            return []
        n_cand = max(MIN_CANDIDATES, 20 * k)
        dense = self._dense(query, n_cand, chunk_mask)
        lexical = self._bm25(query, n_cand, chunk_mask)
        fused = self.fusion.fuse(dense, lexical)
        self._put_cited_first(query, fused, allowed)
        return self._results(fused, dense, lexical, k)

    def _put_cited_first(self, query: str, fused: dict[int, float], allowed) -> None:
        """A query naming an article (`劳动合同法 第十条`) gets that article first."""
        cited = referenced_sections(self.index, query, allowed)
        if not cited:
            return
        top = max(fused.values(), default=0.0)
        for n, section_row in enumerate(cited):
            chunk_rows = np.flatnonzero(self.index.chunk_section == section_row)
            if len(chunk_rows):
                fused[int(chunk_rows[0])] = top + 1.0 + (len(cited) - n) * 1e-3

    def _dense(self, query: str, n: int, mask: np.ndarray | None) -> dict[int, float]:
        import faiss

        qvec = self.embedder.encode([to_simplified(query)])
        n = min(n, self.index.size)
        params = None
        if mask is not None:
            ids = np.flatnonzero(mask).astype(np.int64)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
            n = min(n, len(ids))
        scores, rows = self.index.dense.search(qvec, n, params=params)
        return {int(r): float(s) for r, s in zip(rows[0], scores[0]) if r >= 0}

    def _bm25(self, query: str, n: int, mask: np.ndarray | None) -> dict[int, float]:
        tokens = tokenize(query)
        ids = self.index.bm25.get_tokens_ids(tokens) if tokens else []
        if not ids:
            return {}
        scores = self.index.bm25.get_scores_from_ids(ids)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {int(r): float(scores[r]) for r in top if scores[r] > 0}

    def _results(self, fused: dict[int, float], dense, lexical, k: int) -> list[SearchResult]:
        best_per_section: dict[int, int] = {}
        for row in sorted(fused, key=fused.get, reverse=True):
            section = int(self.index.chunk_section[row])
            if section not in best_per_section:
                best_per_section[section] = row
                if len(best_per_section) == k:
                    break
        rows = list(best_per_section.values())
        texts = self.index.store.chunks(rows)
        top = self.fusion.best_possible
        results = []
        for rank, row in enumerate(rows, start=1):
            section = self.index.sections[int(self.index.chunk_section[row])]
            doc = self.index.documents[section.doc_row]
            text, start, end = texts[row]
            results.append(SearchResult(
                rank=rank, score=round(fused[row] / top, 4), doc_id=doc.doc_id, title=doc.title,
                source=doc.source, year=doc.year, region=doc.region,
                section_id=f"{doc.doc_id}#{section.key}", section_path=section.path, text=text,
                start=start, end=end, doc_type=doc.doc_type, org=doc.org, doc_number=doc.doc_number,
                date=doc.date, dense=round(dense.get(row, 0.0), 4), bm25=round(lexical.get(row, 0.0), 4),
            ))
        return results


def _region_match(region: str, wanted: set[str]) -> bool:
    # `武进` finds 武进区; `X区` finds only X区.
    return any(w == region or (w and region.startswith(w)) for w in wanted)
