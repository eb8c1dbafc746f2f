"""Hybrid search over one index, one result per section, with filters.

Signals per chunk, fused by a weighted sum (weights in `Fusion`, stored in the
index manifest; tuned with bench/tune_fusion.py on both dev sets):

- m3e-small cosine of the question, mixed with the cosine of the question plus its
  thesaurus expansions (FAISS inner product on normalised vectors);
- BM25 over jieba words, the question's own words at full weight and expansion
  words at a lower one, divided by the best BM25 score of the query;
- the Universal Sentence Encoder's cosine of the (expanded) question with the whole
  chunk and with its best-matching sentence, when the index has that second model.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from indexer import second, vectors
from indexer.chinese import to_simplified
from indexer.embed import Embedder, load_embedder
from indexer.errors import PolicyQAError
from indexer.store import DocumentRow, IndexDamaged, SectionRow, rebuild_hint
from indexer.tokenize import tokenize

from .expand import Expansion, Thesaurus, numeral_expansions
from .index import PolicyIndex
from .inputs import MAX_QUERY_CHARS, head
from .reference import referenced_sections

MIN_CANDIDATES = 200
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
# Above this many sentences, sentences only re-score candidates instead of proposing them.
SENTENCE_SEARCH_LIMIT = 300_000


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


@dataclass(frozen=True)
class Fusion:
    """How the signals combine. `score`: a weighted sum; `rrf`: reciprocal ranks."""

    method: str = "score"
    dense_weight: float = 1.0
    # Share of the m3e score from the question plus its expansions. 0 scores the same on the dev
    # sets as 0.3, and the long expanded text costs ~50 ms of model time per query.
    expanded_dense: float = 0.0
    bm25_weight: float = 0.25
    expansion_weight: float = 0.6  # an expansion word counts this much of a question's own word
    second_weight: float = 0.8  # the Universal Sentence Encoder
    second_sentences: float = 0.75  # share of its score from the chunk's best sentence
    rrf_k: int = 60

    @classmethod
    def from_manifest(cls, manifest: dict) -> Fusion:
        conf = (manifest.get("retrieval") or {}).get("fusion") or {}
        return cls(**{k: v for k, v in conf.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)

    def parts(self, s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        dense = (1 - self.expanded_dense) * s["cos_q"] + self.expanded_dense * s["cos_qe"]
        bm25 = s["bm25_words"] + self.expansion_weight * s["bm25_expansions"]
        top = float(bm25.max()) if len(bm25) else 0.0
        lexical = bm25 / top if top > 0 else np.zeros_like(bm25)
        out = {"dense": dense, "bm25": lexical}
        if "use_chunk" in s:
            out["second"] = (1 - self.second_sentences) * s["use_chunk"] + self.second_sentences * s["use_sent"]
        return out

    def combine(self, s: dict[str, np.ndarray]) -> np.ndarray:
        parts = self.parts(s)
        weights = {"dense": self.dense_weight, "bm25": self.bm25_weight, "second": self.second_weight}
        if self.method == "rrf":
            total = np.zeros(len(parts["dense"]))
            for name, values in parts.items():
                ranks = np.empty(len(values))
                ranks[np.argsort(-values)] = np.arange(1, len(values) + 1)
                if name == "bm25":
                    ranks[values <= 0] = np.inf
                total += weights[name] / (self.rrf_k + ranks)
            return total
        return sum(weights[name] * values for name, values in parts.items())

    @property
    def best_possible(self) -> float:
        if self.method == "rrf":
            return (self.dense_weight + self.bm25_weight + self.second_weight) / (self.rrf_k + 1)
        return self.dense_weight + self.bm25_weight + self.second_weight


@dataclass
class Filters:
    years: set[int] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    docs: set[str] = field(default_factory=set)  # doc ids, titles or sources (substring match)

    def __bool__(self) -> bool:
        return bool(self.years or self.regions or self.docs)


@dataclass
class QueryPlan:
    text: str
    simplified: str
    words: list[str]  # the question's own words
    expansions: list[Expansion]
    expansion_words: dict[str, str]  # word → the everyday wording it came from

    @property
    def expanded(self) -> str:
        return " ".join([self.simplified, *(e.term for e in self.expansions)])


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
    second: float = 0.0
    matched_terms: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def citation(self) -> str:
        head = " · ".join(str(x) for x in (self.title, self.year, self.region) if x)
        return " › ".join([head, *self.section_path])


_default_thesaurus: Thesaurus | None = None


def default_thesaurus() -> Thesaurus:
    global _default_thesaurus
    if _default_thesaurus is None:
        _default_thesaurus = Thesaurus.default()
    return _default_thesaurus


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
        self._df: tuple[dict[str, int], int] | None = None

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
            ok &= np.array([_region_match(d.region, filters.regions) for d in self.index.documents])
        if filters.docs:
            ok &= np.array([any(f in (d.doc_id, d.source) or f in d.title for f in filters.docs)
                            for d in self.index.documents])
        return ok

    # -- the query ---------------------------------------------------------------

    def plan(self, query: str) -> QueryPlan:
        simplified = to_simplified(query)
        words = tokenize(simplified)
        expansions = self.thesaurus.expand(simplified) + numeral_expansions(simplified)
        extra: dict[str, str] = {}
        for e in expansions:
            for w in tokenize(e.term):
                if w not in words and w not in extra:
                    extra[w] = e.source
        return QueryPlan(query, simplified, words, expansions, extra)

    # -- search ------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        query = clean_query(query)
        if not query:
            raise QueryError("查询内容为空，请输入要搜索的问题或关键词")
        if not any(ch.isalnum() for ch in query):
            raise QueryError("查询中没有文字或数字，请输入要搜索的问题或关键词")
        if k < 1:
            raise QueryError("结果数 k 必须大于 0")
        allowed = self.allowed_docs(filters or Filters())
        mask = None if allowed is None else allowed[self.index.chunk_doc]
        if self.index.size == 0 or (mask is not None and not mask.any()):
            return []
        plan = self.plan(query)
        rows, signals = self.signals(plan, max(MIN_CANDIDATES, 20 * k), mask)
        combined = self.fusion.combine(signals)
        if not np.isfinite(combined).all():  # vectors damaged in place, past the checks on load
            raise IndexDamaged(f"索引 {self.index.path} 中有无效的向量（非数值）。"
                               f"请重建：{rebuild_hint(self.index.path, self.manifest.get('corpus'))}")
        fused = dict(zip(rows.tolist(), combined.tolist()))
        self._put_cited_first(query, fused, allowed)
        return self._results(fused, rows, signals, k, plan)

    def signals(self, plan: QueryPlan, n: int, mask: np.ndarray | None) -> tuple[np.ndarray, dict]:
        """Candidate chunk rows (the best `n` of every signal) and each signal on them."""
        expand = plan.expansions and self.fusion.expanded_dense > 0
        texts = [plan.simplified] + ([plan.expanded] if expand else [])
        qv = self.embedder.encode(texts)
        qe = qv[-1]
        bm25, size = self.index.bm25, self.index.size
        words = bm25.scores(list(plan.words), size)
        expansions = bm25.scores(list(plan.expansion_words), size)
        if mask is not None:
            words, expansions = np.where(mask, words, 0.0), np.where(mask, expansions, 0.0)
        allowed_ids = None if mask is None else np.flatnonzero(mask)
        index = self.index
        candidates = [vectors.search(index.dense, index.dense_params, q, n, allowed_ids, index.vectors) for q in qv]
        candidates.append(_top(words + self.fusion.expansion_weight * expansions, n, positive=True))
        uq = None
        if self._has_second:
            uq = second.encode([plan.expanded])[0]
            candidates.append(vectors.search(index.use_index, index.use_params, uq, n, allowed_ids, index.use_chunks))
            sent_rows = self._sentence_candidates(uq, 4 * n)
            if sent_rows is not None:
                candidates.append(sent_rows if mask is None else sent_rows[mask[sent_rows]])
        rows = np.unique(np.concatenate([c.astype(np.int64) for c in candidates]))
        chunk_vecs = np.asarray(self.index.vectors[rows])
        signals = {"cos_q": chunk_vecs @ qv[0], "cos_qe": chunk_vecs @ qe,
                   "bm25_words": words[rows], "bm25_expansions": expansions[rows]}
        if uq is not None:
            signals["use_chunk"] = np.asarray(self.index.use_chunks[rows]) @ uq
            signals["use_sent"] = self._best_sentences(rows, uq, signals["use_chunk"])
        return rows, signals

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

    def _results(self, fused: dict[int, float], rows: np.ndarray, signals: dict, k: int,
                 plan: QueryPlan) -> list[SearchResult]:
        best_per_section: dict[int, int] = {}
        for row in sorted(fused, key=fused.get, reverse=True):
            section = int(self.index.chunk_section[row])
            if section not in best_per_section:
                best_per_section[section] = row
                if len(best_per_section) == k:
                    break
        chosen = list(best_per_section.values())
        texts = self.index.store.chunks(chosen)
        where = {int(r): i for i, r in enumerate(rows)}
        parts = self.fusion.parts(signals) if len(rows) else {}
        top = self.fusion.best_possible
        results = []
        for rank, row in enumerate(chosen, start=1):
            section = self.index.sections[int(self.index.chunk_section[row])]
            doc = self.index.documents[section.doc_row]
            text, start, end = texts[row]
            i = where.get(row)
            results.append(SearchResult(
                rank=rank, score=round(min(fused[row], top) / top, 4), doc_id=doc.doc_id, title=doc.title,
                source=doc.source, year=doc.year, region=doc.region,
                section_id=f"{doc.doc_id}#{section.key}", section_path=section.path, text=text,
                start=start, end=end, doc_type=doc.doc_type, org=doc.org, doc_number=doc.doc_number,
                date=doc.date,
                dense=round(float(signals["cos_q"][i]), 4) if i is not None else 0.0,
                bm25=round(float(signals["bm25_words"][i] + self.fusion.expansion_weight
                                 * signals["bm25_expansions"][i]), 4) if i is not None else 0.0,
                second=round(float(parts["second"][i]), 4) if i is not None and "second" in parts else 0.0,
                matched_terms=matched_terms(plan, doc.title + "".join(section.path) + text),
            ))
        return results


def matched_terms(plan: QueryPlan, text: str) -> list[dict]:
    """The question's words, and the expansions (with the wording they came from), found in a result."""
    hay = to_simplified(text)
    out = [{"term": w} for w in dict.fromkeys(plan.words) if len(w) >= 2 and w in hay]
    seen = {o["term"] for o in out}
    for e in plan.expansions:
        if e.term in hay and e.term not in seen:
            out.append({"term": e.term, "from": e.source})
            seen.add(e.term)
    return out


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


def _region_match(region: str, wanted: set[str]) -> bool:
    # `武进` finds 武进区; `X区` finds only X区.
    return any(w == region or (w and region.startswith(w)) for w in wanted)
