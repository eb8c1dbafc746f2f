"""The local search engine: hybrid search over one index directory, with filters.

Signals per candidate chunk: m3e-small cosine (FAISS), BM25 over jieba words (thesaurus
expansions at a lower weight; the score matrix memory-mapped), the Universal Sentence Encoder
on the chunk and its best sentence, and the share of the question's words in the chunk's own
text. They are fused as `indexer.fusion` describes (standardised over the candidate pool,
weighted; weights in the index manifest, tuned with bench/tune_fusion.py on every development
set together); results.py turns the ranking into results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from indexer import second, vectors
from indexer.citations import ARTICLE_FULL_AT, citations
from indexer.citations import prior as citation_prior
from indexer.embed import Embedder, load_embedder
from indexer.fusion import Fusion
from indexer.store import DocumentRow, IndexDamaged, SectionRow, rebuild_hint

from .collection import SUPERSEDED_PENALTY, Collection, annotate
from .expand import Thesaurus
from .index import PolicyIndex
from .query import (  # noqa: F401 - the query's vocabulary, re-exported for callers of this module
    Filters,
    QueryError,
    QueryPlan,
    check_query,
    clean_query,
    default_thesaurus,
    make_plan,
    query_notice,
    region_match,
)
from .reference import referenced_sections
from .results import (  # noqa: F401 - re-exported
    LONG_SECTION_CHUNKS,
    Chunk,
    SearchResult,
    coverage_of,
    group_passages,
    make_results,
    matched_terms,
    without_copies,
)

MIN_CANDIDATES = 200
# How much a preferred year (`今年`) lifts a document's passages, in spreads of the query's scores.
YEAR_PREFERENCE = 0.5
# Above this many sentences, sentences only re-score candidates instead of proposing them.
SENTENCE_SEARCH_LIMIT = 300_000


@dataclass
class CandidatePool:
    query: str
    plan: QueryPlan
    filters: Filters | None
    allowed: np.ndarray | None  # per document row, or None: every document
    rows: np.ndarray  # candidate chunk rows
    signals: dict[str, np.ndarray]  # each signal on the rows


COMMON = "common:"  # a signal on the scale of several libraries together (Together.word_scale)


@dataclass
class Together:
    """What one search over several libraries shares with each of them (federation.py): each
    word's BM25 on the scale of all of them, and the question's encodings, computed once. A
    library's candidates and its own signals stay as they are alone; the BM25 on the common
    scale comes as extra signals (COMMON + name)."""

    word_scale: Callable[[str], float] | None = None
    encodings: dict = field(default_factory=dict)  # (model, texts) -> vectors

    def encoded(self, model: str, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        key = (model, tuple(texts))
        if key not in self.encodings:
            self.encodings[key] = encode(texts)
        return self.encodings[key]


class Searcher:
    """The local search engine (`engine.SearchEngine`) over one index directory."""

    def __init__(self, index: PolicyIndex, embedder: Embedder | None = None, fusion: Fusion | None = None,
                 thesaurus: Thesaurus | None = None):
        self.index = index
        self.embedder = embedder or load_embedder(index.model_name)
        self.fusion = fusion or Fusion.from_manifest(index.manifest)
        self.thesaurus = thesaurus if thesaurus is not None else default_thesaurus()
        self._doc_year = np.array([d.year or 0 for d in index.documents], dtype=np.int32)
        self._has_second = index.use_chunks is not None and second.available()
        chunks_per_section = np.bincount(index.chunk_section, minlength=len(index.sections))
        self._long_section = chunks_per_section >= LONG_SECTION_CHUNKS
        self._chunk_start, self._chunk_end = index.chunk_spans()
        self._df: tuple[dict[str, int], int] | None = None
        self._cited: np.ndarray | None = None
        self.collection = Collection(index.documents)

    # -- the catalogue ------------------------------------------------------------

    @property
    def manifest(self) -> dict:
        return self.index.manifest

    @property
    def model_name(self) -> str:
        return self.index.model_name

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def documents(self) -> list[DocumentRow]:
        return self.index.documents

    def document(self, doc_id: str) -> DocumentRow | None:
        return self.index.document(doc_id)

    def document_text(self, doc_id: str) -> str:
        doc = self.index.document(doc_id)
        return "" if doc is None else self.index.store.document_text(doc.row)

    def sections(self, doc_id: str) -> list[SectionRow]:
        doc = self.index.document(doc_id)
        return [] if doc is None else self.index.sections_of(doc.row)

    def section(self, section_id: str) -> SectionRow | None:
        return self.index.section_by_id(section_id)

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        if self._df is None:
            bm25 = self.index.bm25
            self._df = (bm25.document_frequencies(), bm25.num_docs)
        return self._df

    def close(self) -> None:
        self.index.close()

    # -- filters -----------------------------------------------------------------

    def in_scope(self, filters: Filters | None) -> set[str] | None:
        allowed = self.allowed_docs(filters or Filters())
        return None if allowed is None else {d.doc_id for d in self.index.documents if allowed[d.row]}

    def allowed_docs(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        ok = np.ones(len(self.index.documents), dtype=bool)
        if filters.years:
            ok &= np.isin(self._doc_year, list(filters.years))
        if filters.regions:
            ok &= np.array([region_match(d.region, filters.regions, d.places) for d in self.index.documents])
        if filters.current_only:
            gone = self.collection.superseded()
            ok &= np.array([d.doc_id not in gone for d in self.index.documents])
        if filters.docs:
            ok &= np.array([any(f in (d.doc_id, d.source) or f in d.title for f in filters.docs)
                            for d in self.index.documents])
        if filters.hidden:
            ok &= np.array([d.doc_id not in filters.hidden for d in self.index.documents])
        return ok

    # -- the query ---------------------------------------------------------------

    def plan(self, query: str) -> QueryPlan:
        vocab = self.index.bm25.vocab
        return make_plan(query, self.thesaurus, lambda words: all(w in vocab for w in words))

    # -- search ------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        pool = self.pool(query, k, filters)
        return self.rank(pool, self.fusion.combine(pool.signals), k) if pool is not None else []

    def pool(self, query: str, k: int, filters: Filters | None = None,
             together: Together | None = None) -> CandidatePool | None:
        """A query's candidates and their signals, before they are fused (None: nothing can match).
        Several libraries fuse their pools together (federation.py), sharing `together`."""
        query = check_query(query, k)
        allowed = self.allowed_docs(filters or Filters())
        mask = None if allowed is None else allowed[self.index.chunk_doc]
        if self.index.size == 0 or (mask is not None and not mask.any()):
            return None
        plan = self.plan(query)
        rows, signals = self.signals(plan, max(MIN_CANDIDATES, 20 * k), mask, together)
        return CandidatePool(query, plan, filters, allowed, rows, signals)

    def rank(self, pool: CandidatePool, combined: np.ndarray, k: int) -> list[SearchResult]:
        """The best `k` results of a pool, from its fused scores."""
        rows, filters = pool.rows, pool.filters
        if not np.isfinite(combined).all():  # vectors damaged in place, past the checks on load
            raise IndexDamaged(f"索引 {self.index.path} 中有无效的向量（非数值）。"
                               f"请重建：{rebuild_hint(self.index.path, self.manifest.get('corpus'))}")
        if filters is not None and filters.prefer_years and len(combined) > 1:
            preferred = np.isin(self._doc_year[self.index.chunk_doc[rows]], list(filters.prefer_years))
            combined = combined + YEAR_PREFERENCE * float(combined.std()) * preferred
        combined = combined - self._standing_penalty(rows, combined, filters)
        fused = dict(zip(rows.tolist(), combined.tolist()))
        self._put_cited_first(pool.query, fused, pool.allowed)
        self._put_numbered_first(pool.query, fused, pool.allowed)
        return annotate(self._results(fused, rows, pool.signals, k, pool.plan), self.collection,
                        filters.regions if filters is not None else None)

    def _standing_penalty(self, rows: np.ndarray, combined: np.ndarray, filters: Filters | None) -> np.ndarray:
        """Documents in force first: a repealed document or an older version of one in the index
        ranks lower; with a place filter, a province's or city's document (which applies to the
        place) ranks after the place's own documents."""
        docs = self.index.documents
        doc_rows = self.index.chunk_doc[rows]
        penalty = np.zeros(len(rows))
        gone = self.collection.superseded()
        if gone and len(combined) > 1:
            old = np.array([docs[r].doc_id in gone for r in doc_rows.tolist()])
            penalty += SUPERSEDED_PENALTY * float(combined.std()) * old
        if filters is not None and filters.regions and len(combined) > 1:
            above = np.array([self.collection.place_of(docs[r], filters.regions) == "above" for r in doc_rows.tolist()])
            penalty += (float(combined.max() - combined.min()) + 1.0) * above
        return penalty

    def _put_numbered_first(self, query: str, fused: dict[int, float], allowed) -> None:
        """A query naming a document number (`苏教办〔2023〕12号`, `[2023]12号`) gets that document first:
        its best passage among the candidates, or its opening."""
        named = self.collection.numbered(query)
        if not named:
            return
        top = max(fused.values(), default=0.0)
        for n, doc_id in enumerate(named):
            doc = self.index.document(doc_id)
            if doc is None or (allowed is not None and not allowed[doc.row]):
                continue
            mine = np.flatnonzero(self.index.chunk_doc == doc.row)
            if not len(mine):
                continue
            best = max((r for r in mine.tolist() if r in fused), key=fused.get, default=int(mine[0]))
            fused[best] = top + 2.0 + (len(named) - n) * 1e-3

    def signals(self, plan: QueryPlan, n: int, mask: np.ndarray | None,
                together: Together | None = None) -> tuple[np.ndarray, dict]:
        """Candidate chunk rows (the best `n` of every signal) and each signal on them."""
        expand = plan.expansions and self.fusion.expanded_dense > 0
        texts = [plan.simplified] + ([plan.expanded] if expand else [])
        qv = together.encoded("dense", texts, self.embedder.encode) if together else self.embedder.encode(texts)
        qe = qv[-1]
        bm25, size = self.index.bm25, self.index.size
        words = bm25.scores(plan.weights, size)
        expansions = bm25.scores(list(plan.expansion_words), size)
        if mask is not None:
            words, expansions = np.where(mask, words, 0.0), np.where(mask, expansions, 0.0)
        allowed_ids = None if mask is None else np.flatnonzero(mask)
        index = self.index
        candidates = [vectors.search(index.dense, index.dense_params, q, n, allowed_ids, index.vectors) for q in qv]
        candidates.append(_top(words + self.fusion.expansion_weight * expansions, n, positive=True))
        uq = None
        if self._has_second:
            uq = (together.encoded("second", [plan.expanded], second.encode) if together
                  else second.encode([plan.expanded]))[0]
            candidates.append(vectors.search(index.use_index, index.use_params, uq, n, allowed_ids, index.use_chunks))
            sent_rows = self._sentence_candidates(uq, 4 * n)
            if sent_rows is not None:
                candidates.append(sent_rows if mask is None else sent_rows[mask[sent_rows]])
        rows = np.unique(np.concatenate([c.astype(np.int64) for c in candidates]))
        chunk_vecs = np.asarray(self.index.vectors[rows])
        signals = {"cos_q": chunk_vecs @ qv[0], "cos_qe": chunk_vecs @ qe,
                   "bm25_words": words[rows], "bm25_expansions": expansions[rows]}
        if together is not None and together.word_scale is not None:
            signals.update(self._common_words(plan, rows, together.word_scale))
        if uq is not None:
            signals["use_chunk"] = np.asarray(self.index.use_chunks[rows]) @ uq
            signals["use_sent"] = self._best_sentences(rows, uq, signals["use_chunk"])
        if self.fusion.coverage_weight:
            signals["coverage"] = self._coverage(plan, rows)
        if self.fusion.cited_weight:
            signals["cited"] = self.citation_prior()[rows]
        return rows, signals

    def _common_words(self, plan: QueryPlan, rows: np.ndarray, word_scale: Callable[[str], float]) -> dict:
        """The BM25 signals of `rows` with each word's IDF over several libraries (Together)."""
        bm25, size = self.index.bm25, self.index.size
        words = bm25.scores({w: x * word_scale(w) for w, x in plan.weights.items()}, size)
        expansions = bm25.scores({w: word_scale(w) for w in plan.expansion_words}, size)
        return {COMMON + "bm25_words": words[rows], COMMON + "bm25_expansions": expansions[rows]}

    def citation_prior(self) -> np.ndarray:
        """Each chunk's citation prior (indexer.citations: its document's and its article's), by
        chunk row; counted from the texts for an index written before the manifest kept them."""
        if self._cited is None:
            index, docs = self.index, self.index.documents
            counts = self.manifest.get("citations")
            if counts is None:
                labels: list[dict[str, list[str]]] = [{} for _ in docs]
                for s in index.sections:
                    if s.path:
                        labels[s.doc_row].setdefault(s.path[-1], []).append(s.key)
                counts = citations([d.doc_id for d in docs], [d.title for d in docs],
                                   [index.store.document_text(d.row) for d in docs], labels)
            by_doc = citation_prior([counts.get(d.doc_id, 0) for d in docs])
            by_section = citation_prior([counts.get(f"{docs[s.doc_row].doc_id}#{s.key}", 0) for s in index.sections],
                                        ARTICLE_FULL_AT)
            self._cited = by_doc[index.chunk_doc] + by_section[index.chunk_section]
        return self._cited

    def _coverage(self, plan: QueryPlan, rows: np.ndarray) -> np.ndarray:
        df, n = self.document_frequencies()
        texts = self.index.store.chunks(rows.tolist())
        return coverage_of([texts[r][0] for r in rows.tolist()], plan.weights, df, n)

    def _sentence_candidates(self, uq: np.ndarray, n: int) -> np.ndarray | None:
        """Chunk rows of the sentences closest to the query: from the sentence index, or for
        indexes built before it, by scanning the sentences while there are few enough."""
        index = self.index
        if index.sentence_index is not None:
            return index.sentence_chunk[vectors.search(index.sentence_index, index.sentence_params, uq, n)]
        if len(index.sentence_chunk) <= SENTENCE_SEARCH_LIMIT:
            return index.sentence_chunk[_top(np.asarray(index.use_sentences, dtype=np.float32) @ uq, n)]
        return None

    def _best_sentences(self, rows: np.ndarray, uq: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """Each row's best sentence similarity (rows without sentences keep `fallback`):
        one read of all their sentence vectors, not one per row."""
        owner = self.index.sentence_chunk
        starts = np.searchsorted(owner, rows)
        counts = np.searchsorted(owner, rows + 1) - starts
        best = fallback.copy()
        has = counts > 0
        if not has.any():
            return best
        starts, counts = starts[has], counts[has]
        offsets = np.cumsum(counts) - counts
        picked = np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))
        sims = np.asarray(self.index.use_sentences[picked], dtype=np.float32) @ uq
        best[has] = np.maximum.reduceat(sims, offsets)
        return best

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

    def passages(self, fused: dict[int, float], k: int) -> list[list[int]]:
        """The chunk rows of each of the best `k` results, best first (results.group_passages)."""
        section_of, long = self.index.chunk_section, self._long_section
        return group_passages(sorted(fused, key=fused.get, reverse=True), lambda row: int(section_of[row]),
                              lambda section: bool(long[section]), self._span, k)

    def _span(self, rows: list[int]) -> int:
        return int(self._chunk_end[max(rows)] - self._chunk_start[min(rows)])

    def _results(self, fused: dict[int, float], rows: np.ndarray, signals: dict, k: int,
                 plan: QueryPlan) -> list[SearchResult]:
        return without_copies(lambda n: self._ranked(fused, rows, signals, n, plan), k)

    def _ranked(self, fused: dict[int, float], rows: np.ndarray, signals: dict, k: int,
                plan: QueryPlan) -> list[SearchResult]:
        groups = self.passages(fused, k)
        texts = self.index.store.chunks([r for g in groups for r in g])
        chunks = {}
        for row, (text, start, end) in texts.items():
            section = self.index.sections[int(self.index.chunk_section[row])]
            chunks[row] = Chunk(text, start, end, section.key, section.path, self.index.documents[section.doc_row])
        return make_results(groups, fused, rows, signals, self.fusion, plan, chunks)


def _top(scores: np.ndarray, n: int, positive: bool = False) -> np.ndarray:
    """Rows of the best `n` scores (only positive ones if asked), in no particular order."""
    if positive:
        rows = np.flatnonzero(scores > 0)  # keyword scores: usually a small part of a big index
        if len(rows) <= n:
            return rows
        return rows[np.argpartition(-scores[rows], n - 1)[:n]]
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, n - 1)[:n]
    return top[np.isfinite(scores[top])]


