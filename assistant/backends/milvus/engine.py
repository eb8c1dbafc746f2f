"""A policyqa library in Milvus as a `SearchEngine`: `--index milvus://HOST:PORT/NAME` for the
CLI and the page.

Search reproduces the local fusion. Candidates come from Milvus, each search with the filters
pushed down as an expression: m3e kNN (and the expanded question's), BM25 over our own words
as a sparse vector, the second model's kNN over chunks and over sentences, as many of each as
the local engine takes. Every signal is then computed for the candidates as the local index
computes it: cosines from their stored vectors, BM25 from their stored words with the library's
idf and length normalisation (never Milvus's BM25 scores, whose sign and scale differ between
Milvus Lite and the server), the best sentence by a search grouped by chunk. They are fused with
the manifest's weights and become results by the same code as local search (search/results.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import numpy as np

from indexer import second
from indexer.build import BM25_PARAMS
from indexer.citations import chunk_prior
from indexer.embed import load_embedder
from indexer.fusion import Fusion
from indexer.store import DocumentRow, IndexMismatch, IndexNotFound, SectionRow

from ...search.collection import Collection, annotate
from ...search.postings import weighted
from ...search.query import Filters, QueryPlan, check_query, default_thesaurus, make_plan, region_match
from ...search.reference import cited_documents
from ...search.results import (
    LONG_SECTION_CHUNKS,
    Chunk,
    SearchResult,
    coverage_of,
    group_passages,
    make_results,
    without_copies,
)
from .frequencies import Frequencies
from .schema import (
    FORMAT_VERSION,
    MilvusProblem,
    Target,
    check_server,
    connect,
    parse,
    query_all,
    quote,
    read_citations,
    read_meta,
    visible,
)
from .writer import idf, word_key

MIN_CANDIDATES = 200  # as the local engine
YEAR_PREFERENCE = 0.5
SENTENCE_GROUPS = 1_000  # candidate chunks per grouped sentence search
REFRESH_SECONDS = 10  # how often a reader looks for a newer commit
CHUNK_FIELDS = ["id", "doc_id", "section_key", "section_chunks", "start", "end", "text", "words", "dense", "second"]


class MilvusEngine:
    def __init__(self, location: str, model: str | None = None, embedder=None, thesaurus=None):
        self.location = location
        self.target: Target = parse(location)
        self.client = connect(self.target)
        check_server(self.client, self.target)
        self.embedder = embedder
        self.thesaurus = thesaurus if thesaurus is not None else default_thesaurus()
        self._model = model
        self._lock = threading.Lock()
        self._open(self._read_meta())

    # -- the committed state ----------------------------------------------------------------

    def _read_meta(self) -> dict:
        try:
            meta = read_meta(self.client, self.target)
        except Exception as e:
            raise MilvusProblem(f"无法读取 Milvus 中的库（{self.target.uri}）：{type(e).__name__}") from e
        if meta is None:
            raise IndexNotFound(f"Milvus 中没有库 {self.target.name}（{self.target.uri}）。请先写入：policyqa index "
                                f"<文档文件夹> --to {self.location}")
        if meta.get("format_version") != FORMAT_VERSION:
            raise IndexMismatch(f"Milvus 中的库 {self.location} 格式版本为 {meta.get('format_version')}，"
                                f"当前程序需要 {FORMAT_VERSION}：请用写入它的版本，或重新写入")
        built = meta["model"]["name"]
        if self._model and self._model != built:
            raise IndexMismatch(f"库 {self.location} 由模型“{built}”建立，而当前指定的是“{self._model}”：请使用相同模型")
        return meta

    def _open(self, meta: dict) -> None:
        self.meta = meta
        self.fusion = Fusion.from_manifest(meta)
        if self.embedder is None:
            self.embedder = load_embedder(meta["model"]["name"])
        self._visible = visible(meta)
        indexes = meta.get("indexes") or {}
        self._chunk_search = {"params": (indexes.get("chunks") or {}).get("search") or {}}
        self._sentence_search = {"params": (indexes.get("sentences") or {}).get("search") or {}}
        self._df = Frequencies(self.client, self.target.collection("terms"))
        self._sections: dict[str, list[SectionRow]] = {}
        self._load_documents()
        self._citations = read_citations(self.client, self.target, meta)
        self._checked = time.monotonic()

    def refresh(self, force: bool = False) -> bool:
        """Follow a newer commit (another builder's); whether there was one. Looked for at most
        every REFRESH_SECONDS unless forced."""
        if not force and time.monotonic() - self._checked < REFRESH_SECONDS:
            return False
        with self._lock:
            self._checked = time.monotonic()
            meta = self._read_meta()
            if (meta["gen"], meta.get("retire")) == (self.meta["gen"], self.meta.get("retire")):
                return False
            self._open(meta)
            return True

    def _query(self, kind: str, expr: str, fields: list[str]) -> list[dict]:
        return query_all(self.client, self.target.collection(kind), expr, fields)

    def _load_documents(self) -> None:
        rows = [(r["doc_id"], json.loads(r["data"])) for r in self._query("docs", self._visible, ["doc_id", "data"])]
        rows.sort(key=lambda r: r[1]["source"])
        self._docs, self._files = [], {}
        for n, (doc_id, d) in enumerate(rows):
            self._docs.append(DocumentRow(n, doc_id, d["source"], d["sha256"], d["title"], d["org"], d["doc_number"],
                                          d["date"], d["year"], d["region"], d["doc_type"], d["n_sections"],
                                          places=d.get("places", []), lifecycle=d.get("lifecycle", {})))
            self._files[d["source"]] = {"sha256": d["sha256"], "doc_id": doc_id, "title": d["title"],
                                        "ocr_pages": d.get("ocr_pages", 0)}
        self._by_id = {d.doc_id: d for d in self._docs}
        self.collection = Collection(self._docs)

    # -- the catalogue --------------------------------------------------------------------------

    @property
    def manifest(self) -> dict:
        return {**self.meta, "files": self._files, "location": self.location}

    @property
    def model_name(self) -> str:
        return self.meta["model"]["name"]

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def documents(self) -> list[DocumentRow]:
        self.refresh()
        return self._docs

    def document(self, doc_id: str) -> DocumentRow | None:
        return self._by_id.get(doc_id)

    def document_text(self, doc_id: str) -> str:
        if doc_id not in self._by_id:
            return ""
        parts = self._query("texts", f"{self._visible} and doc_id == {quote(doc_id)}", ["part", "text"])
        return "".join(p["text"] for p in sorted(parts, key=lambda p: p["part"]))

    def sections(self, doc_id: str) -> list[SectionRow]:
        doc = self._by_id.get(doc_id)
        if doc is None:
            return []
        if doc_id not in self._sections:
            expr = f"{self._visible} and doc_id == {quote(doc_id)}"
            rows = sorted((json.loads(r["data"]) for r in self._query("sections", expr, ["data"])),
                          key=lambda s: s["order"])
            self._sections[doc_id] = [SectionRow(n, doc.row, s["key"], s["path"], s["start"], s["end"], s["parent"],
                                                 s["has_children"], s["has_text"]) for n, s in enumerate(rows)]
        return self._sections[doc_id]

    def section(self, section_id: str) -> SectionRow | None:
        doc_id, _, key = section_id.partition("#")
        return next((s for s in self.sections(doc_id) if s.key == key), None)

    def in_scope(self, filters: Filters | None) -> set[str] | None:
        if not filters:
            return None
        gone = self.collection.superseded()
        return {d.doc_id for d in self._docs if _allowed(d, filters, gone)}

    def document_frequencies(self) -> tuple[Frequencies, int]:
        return self._df, int(self.meta["bm25"]["n"])

    def close(self) -> None:
        self.client.close()

    # -- search ----------------------------------------------------------------------------------

    def expression(self, filters: Filters | None) -> str | None:
        """The filters as a Milvus expression, pushed down into every search (None: nothing allowed)."""
        expr = self._visible
        if filters and filters.years:
            expr += f" and year in {sorted(filters.years)}"
        if filters and filters.docs:
            allowed = sorted(d.doc_id for d in self._docs if _allowed(d, Filters(docs=filters.docs)))
            if not allowed:
                return None
            expr += f" and doc_id in {json.dumps(allowed, ensure_ascii=False)}"
        if filters and filters.regions:
            regions = sorted({d.region for d in self._docs if region_match(d.region, filters.regions, d.places)})
            if not regions:
                return None
            expr += f" and region in {json.dumps(regions, ensure_ascii=False)}"
        if filters and filters.current_only and self.collection.superseded():
            expr += f" and doc_id not in {json.dumps(sorted(self.collection.superseded()), ensure_ascii=False)}"
        if filters and filters.hidden:
            expr += f" and doc_id not in {json.dumps(sorted(filters.hidden), ensure_ascii=False)}"
        return expr

    def plan(self, query: str) -> QueryPlan:
        def in_corpus(words):
            return all(self._df.get(w) for w in words)

        return make_plan(query, self.thesaurus, in_corpus)

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        query = check_query(query, k)
        self.refresh()
        expr = self.expression(filters)
        if expr is None or not self._docs:
            return []
        plan = self.plan(query)
        pool = self.signals(plan, max(MIN_CANDIDATES, 20 * k), expr)
        if not len(pool.rows):
            return []
        combined = self.fusion.combine(pool.signals)
        if filters is not None and filters.prefer_years and len(combined) > 1:
            years = np.array([pool.chunks[r].doc.year or 0 for r in pool.rows.tolist()])
            combined = combined + YEAR_PREFERENCE * float(combined.std()) * np.isin(years, list(filters.prefer_years))
        fused = dict(zip(pool.rows.tolist(), combined.tolist()))
        self._put_cited_first(query, fused, pool, filters)
        chunks, sizes = pool.chunks, pool.section_chunks
        order = sorted(fused, key=fused.get, reverse=True)

        def ranked(n: int) -> list[SearchResult]:
            groups = group_passages(order, lambda r: (chunks[r].doc.doc_id, chunks[r].section_key),
                                    lambda s: sizes.get(s, 1) >= LONG_SECTION_CHUNKS,
                                    lambda ids: max(chunks[i].end for i in ids) - min(chunks[i].start for i in ids), n)
            return make_results(groups, fused, pool.rows, pool.signals, self.fusion, plan, chunks)

        return annotate(without_copies(ranked, k), self.collection, filters.regions if filters is not None else None)

    def signals(self, plan: QueryPlan, n: int, expr: str) -> _Pool:
        """Candidate chunks (the best `n` of every signal, as the local engine) and each signal on them."""
        expand = plan.expansions and self.fusion.expanded_dense > 0
        queries = self.embedder.encode([plan.simplified] + ([plan.expanded] if expand else []))
        uq = second.encode([plan.expanded])[0]
        total = int(self.meta["bm25"]["n"])
        self._df.fetch(list(plan.words) + list(plan.expansion_words))
        records, by_sentence = self._candidates(queries, uq, self._query_weights(plan, total), n, expr)
        pool = _Pool()
        pool.rows = np.array(sorted(records), dtype=np.int64)
        if not len(pool.rows):
            return pool
        dense, use, words = [], [], []
        for r in pool.rows.tolist():
            rec = records[r]
            pool.add(r, rec, self._chunk(rec))
            dense.append(rec["dense"])
            use.append(rec["second"])
            words.append(rec["words"].split())
        dense, use = np.asarray(dense, dtype=np.float32), np.asarray(use, dtype=np.float32)
        avgdl = float(self.meta["bm25"]["avgdl"])
        pool.signals = {"cos_q": dense @ queries[0], "cos_qe": dense @ queries[-1],
                        "bm25_words": self._bm25(words, plan.weights, total, avgdl),
                        "bm25_expansions": self._bm25(words, list(plan.expansion_words), total, avgdl),
                        "use_chunk": use @ uq}
        pool.signals["use_sent"] = self._best_sentences(pool.rows, uq, pool.signals["use_chunk"], by_sentence)
        if self.fusion.coverage_weight:
            df, n_chunks = self.document_frequencies()
            pool.signals["coverage"] = coverage_of([pool.chunks[r].text for r in pool.rows.tolist()], plan.weights, df,
                                                   n_chunks)
        if self.fusion.cited_weight:
            pool.signals["cited"] = np.array([chunk_prior(self._citations, pool.chunks[r].doc.doc_id, pool.chunks[r].section_key)
                                              for r in pool.rows.tolist()])
        return pool

    def _candidates(self, queries: np.ndarray, uq: np.ndarray, weights: dict[int, float], n: int,
                    expr: str) -> tuple[dict[int, dict], dict[int, float]]:
        """The candidates' records, and the best similarity of the sentences found per chunk.

        The chunk signals' searches go in one `hybrid_search` whose limit is the sum of theirs,
        so it returns their union (the ranker's order is not used); the sentences' in another.
        """
        from pymilvus import AnnSearchRequest, WeightedRanker

        searches = [("dense", q.tolist(), self._chunk_search) for q in queries]
        searches.append(("second", uq.tolist(), self._chunk_search))
        searches += [("sparse", weights, {})] if weights else []
        requests = [AnnSearchRequest([vector], field, params, n, expr=expr) for field, vector, params in searches]
        hits = self.client.hybrid_search(self.target.collection("chunks"), requests, WeightedRanker(*[1.0] * len(requests)),
                                         limit=n * len(requests), output_fields=CHUNK_FIELDS)
        records = {int(h["id"]): h["entity"] for h in hits[0]}
        sentences = self.client.search(self.target.collection("sentences"), data=[uq.tolist()], anns_field="vec",
                                       limit=4 * n, filter=expr, output_fields=["chunk"],
                                       search_params=self._sentence_search)
        by_sentence: dict[int, float] = {}
        for h in sentences[0]:
            chunk = int(h["entity"]["chunk"])
            by_sentence[chunk] = max(by_sentence.get(chunk, -np.inf), float(h["distance"]))
        records.update(self._get(sorted(set(by_sentence) - set(records))))
        return {r: rec for r, rec in records.items() if rec["doc_id"] in self._by_id}, by_sentence

    def _get(self, ids: list[int]) -> dict[int, dict]:
        out = {}
        for i in range(0, len(ids), 500):
            for r in self.client.get(self.target.collection("chunks"), ids=ids[i:i + 500], output_fields=CHUNK_FIELDS):
                out[int(r["id"])] = r
        return out

    def _chunk(self, rec: dict) -> Chunk:
        doc_id, key = rec["doc_id"], rec["section_key"]
        section = self.section(f"{doc_id}#{key}")
        return Chunk(rec["text"], rec["start"], rec["end"], key, section.path if section else [], self._by_id[doc_id])

    def _query_weights(self, plan: QueryPlan, total: int) -> dict[int, float]:
        """The question as a sparse vector: each known word's idf (expansions at their weight)."""
        weights: dict[int, float] = {}
        expansions = dict.fromkeys(plan.expansion_words, self.fusion.expansion_weight)
        for words in (plan.weights, expansions):
            for w, scale in words.items():
                df = self._df.get(w)
                if df:
                    key = word_key(w)
                    weights[key] = weights.get(key, 0.0) + scale * idf(df, total)
        return weights

    def _bm25(self, docs: list[list[str]], query: list[str] | dict[str, float], total: int,
              avgdl: float) -> np.ndarray:
        """BM25 of each candidate as bm25s computes it for the local index (a word counted once;
        given a dict, times the word's weight, as Postings.scores)."""
        k1, b = BM25_PARAMS["k1"], BM25_PARAMS["b"]
        known = {w: weight * idf(self._df.get(w), total) for w, weight in weighted(query).items()
                 if self._df.get(w) and weight}
        out = np.zeros(len(docs), dtype=np.float32)
        for i, doc in enumerate(docs):
            counts = Counter(doc)
            norm = k1 * ((1 - b) + b * len(doc) / max(avgdl, 1e-9))
            out[i] = sum(weight * counts[w] / (norm + counts[w]) for w, weight in known.items() if counts[w])
        return out

    def _best_sentences(self, rows: np.ndarray, uq: np.ndarray, fallback: np.ndarray,
                        found: dict[int, float]) -> np.ndarray:
        """Each row's best sentence similarity (rows without sentences keep `fallback`). A chunk
        with a sentence among those the sentence search found has its best there (every other
        sentence scored lower); the rest take one search grouped by chunk over their sentences."""
        best = fallback.copy()
        where = {int(r): i for i, r in enumerate(rows)}
        for chunk, sim in found.items():
            if chunk in where:
                best[where[chunk]] = sim
        rest = [r for r in rows.tolist() if r not in found]
        for i in range(0, len(rest), SENTENCE_GROUPS):
            part = rest[i:i + SENTENCE_GROUPS]
            hits = self.client.search(self.target.collection("sentences"), data=[uq.tolist()], anns_field="vec",
                                      limit=len(part), filter=f"chunk in {part}", group_by_field="chunk",
                                      output_fields=["chunk"], search_params=self._sentence_search)
            for h in hits[0]:
                best[where[int(h["entity"]["chunk"])]] = float(h["distance"])
        return best

    def _put_cited_first(self, query: str, fused: dict[int, float], pool: _Pool, filters: Filters | None) -> None:
        """A query naming an article (`劳动合同法 第十条`) gets that article first, as locally."""
        allowed = (lambda d: _allowed(d, filters, self.collection.superseded())) if filters else None
        docs, label = cited_documents(self._docs, query, allowed)
        cited = [(d, s) for d in docs for s in self.sections(d.doc_id) if s.path and s.path[-1] == label]
        top = max(fused.values(), default=0.0)
        for n, (doc, section) in enumerate(cited):
            expr = f"{self._visible} and doc_id == {quote(doc.doc_id)} and section_key == {quote(section.key)}"
            records = self._query("chunks", expr, CHUNK_FIELDS)
            if records:
                rec = min(records, key=lambda r: r["start"])
                pool.add(int(rec["id"]), rec, self._chunk(rec))
                fused[int(rec["id"])] = top + 1.0 + (len(cited) - n) * 1e-3


class _Pool:
    """One search's candidates: rows, their signals, their chunks and section sizes."""

    def __init__(self):
        self.rows = np.zeros(0, dtype=np.int64)
        self.signals: dict[str, np.ndarray] = {}
        self.chunks: dict[int, Chunk] = {}
        self.section_chunks: dict[tuple[str, str], int] = {}

    def add(self, row: int, rec: dict, chunk: Chunk) -> None:
        self.chunks[row] = chunk
        self.section_chunks[(rec["doc_id"], rec["section_key"])] = int(rec["section_chunks"])


def _allowed(d: DocumentRow, f: Filters, gone: set[str] | frozenset[str] = frozenset()) -> bool:
    return ((not f.years or (d.year or 0) in f.years) and (not f.regions or region_match(d.region, f.regions, d.places))
            and (not f.docs or any(x in (d.doc_id, d.source) or x in d.title for x in f.docs))
            and not (f.current_only and d.doc_id in gone) and d.doc_id not in f.hidden)

