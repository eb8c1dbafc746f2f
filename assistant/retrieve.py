"""Hybrid search over one index, one result per section (more for long ones), with filters.

Signals per candidate chunk: m3e-small cosine, BM25 over jieba words (thesaurus expansions at
a lower weight), the Universal Sentence Encoder on the chunk and its best sentence, and the
share of the question's words in the chunk's own text. They are fused as `indexer.fusion`
describes (standardised over the candidate pool, weighted; weights in the index manifest,
tuned with bench/tune_fusion.py on every development set together).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from indexer import second, vectors
from indexer.chinese import to_simplified, to_traditional
from indexer.embed import Embedder, load_embedder
from indexer.errors import PolicyQAError
from indexer.fusion import Fusion
from indexer.store import DocumentRow, IndexDamaged, SectionRow, rebuild_hint
from indexer.tokenize import tokenize

from .expand import Expansion, Thesaurus, numeral_expansions
from .index import PolicyIndex
from .inputs import MAX_QUERY_CHARS, head
from .reference import referenced_sections

MIN_CANDIDATES = 200
# Granularity: a section of at least this many chunks is "long" (a notice without headings, an
# article group); its chunks may come back as several passages, neighbours joined into one.
LONG_SECTION_CHUNKS = 3
PASSAGES_PER_SECTION = 3
MAX_PASSAGE_CHARS = 800
# How much a preferred year (`今年`) lifts a document's passages, in spreads of the query's scores.
YEAR_PREFERENCE = 0.5
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


@dataclass
class Filters:
    years: set[int] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    docs: set[str] = field(default_factory=set)  # doc ids, titles or sources (substring match)
    # A preference, not a filter: documents of these years rank higher (`今年` in a question).
    prefer_years: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        """Whether anything is filtered out (a preference filters nothing)."""
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
    coverage: float = 0.0  # share of the question's words (IDF-weighted) in the passage's own text
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
        chunks_per_section = np.bincount(index.chunk_section, minlength=len(index.sections))
        self._long_section = chunks_per_section >= LONG_SECTION_CHUNKS
        self._chunk_start, self._chunk_end = index.chunk_spans()
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
        expansions = [e for e in self.thesaurus.expand(simplified) + numeral_expansions(simplified)
                      if self._in_corpus(e.term)]
        extra: dict[str, str] = {}
        for e in expansions:
            for w in tokenize(e.term):
                if w not in words and w not in extra:
                    extra[w] = e.source
        return QueryPlan(query, simplified, words, expansions, extra)

    def _in_corpus(self, term: str) -> bool:
        """Whether this index has the wording an expansion adds. An expansion from a domain
        the corpus does not cover (school safety over a law library, say) would only pull the
        second model towards unrelated text, so it is dropped: the thesaurus calibrates itself
        to each index by its vocabulary."""
        vocab = self.index.bm25.vocab
        words = [w for w in tokenize(term) if w.strip()]
        return bool(words) and all(w in vocab for w in words)

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
        if filters is not None and filters.prefer_years and len(combined) > 1:
            preferred = np.isin(self._doc_year[self.index.chunk_doc[rows]], list(filters.prefer_years))
            combined = combined + YEAR_PREFERENCE * float(combined.std()) * preferred
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
        if self.fusion.coverage_weight:
            signals["coverage"] = self._coverage(plan, rows)
        return rows, signals

    def _coverage(self, plan: QueryPlan, rows: np.ndarray) -> np.ndarray:
        """The IDF-weighted share of the question's words in each chunk's own text (without
        the title every chunk of a document is indexed with)."""
        df, n = self.document_frequencies()
        weights = {w: math.log((n + 1) / (df[w] + 0.5)) for w in dict.fromkeys(plan.words) if df.get(w)}
        total = sum(weights.values())
        if not total or not len(rows):
            return np.zeros(len(rows))
        forms = [(weight, {w, to_traditional(w)}) for w, weight in weights.items()]
        texts = self.index.store.chunks(rows.tolist())
        return np.array([sum(weight for weight, ws in forms if any(w in texts[r][0] for w in ws))
                         for r in rows.tolist()]) / total

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
        """The chunk rows of each of the best `k` results, best first.

        A result is a section's best chunk. A neighbouring chunk of the same section that ranks
        before the list is full extends that passage (up to MAX_PASSAGE_CHARS), so an answer
        that runs on past a chunk's end is shown whole. A long section (a notice without
        headings, a long article group) may also give another passage of its own, up to
        PASSAGES_PER_SECTION, when one of its other chunks is strong enough to make the top `k`."""
        section_of, long = self.index.chunk_section, self._long_section
        results: list[list[int]] = []
        shown: dict[int, list[int]] = {}  # section → its results
        for row in sorted(fused, key=fused.get, reverse=True):
            section = int(section_of[row])
            mine = shown.get(section)
            if mine is None:
                if len(results) == k:
                    break
                shown[section] = [len(results)]
                results.append([row])
                continue
            beside = next((i for i in mine if any(abs(row - r) == 1 for r in results[i])), None)
            if beside is not None:
                if self._span(results[beside] + [row]) <= MAX_PASSAGE_CHARS:
                    results[beside].append(row)
            elif long[section] and len(mine) < PASSAGES_PER_SECTION and len(results) < k:
                mine.append(len(results))
                results.append([row])
        return [sorted(group) for group in results]

    def _span(self, rows: list[int]) -> int:
        return int(self._chunk_end[max(rows)] - self._chunk_start[min(rows)])

    def _results(self, fused: dict[int, float], rows: np.ndarray, signals: dict, k: int,
                 plan: QueryPlan) -> list[SearchResult]:
        groups = self.passages(fused, k)
        texts = self.index.store.chunks([r for g in groups for r in g])
        where = {int(r): i for i, r in enumerate(rows)}
        parts = self.fusion.parts(signals) if len(rows) else {}
        relevance = self.fusion.relevance(parts) if len(rows) else np.zeros(0)
        results = []
        for rank, group in enumerate(groups, start=1):
            row = max(group, key=fused.get)  # the best chunk gives the score and the signals
            section = self.index.sections[int(self.index.chunk_section[row])]
            doc = self.index.documents[section.doc_row]
            text, start, end = _joined([texts[r] for r in group])
            i = where.get(row)
            results.append(SearchResult(
                rank=rank, score=round(float(relevance[i]), 4) if i is not None else 0.0, doc_id=doc.doc_id,
                title=doc.title,
                source=doc.source, year=doc.year, region=doc.region,
                section_id=f"{doc.doc_id}#{section.key}", section_path=section.path, text=text,
                start=start, end=end, doc_type=doc.doc_type, org=doc.org, doc_number=doc.doc_number,
                date=doc.date,
                dense=round(float(signals["cos_q"][i]), 4) if i is not None else 0.0,
                bm25=round(float(signals["bm25_words"][i] + self.fusion.expansion_weight
                                 * signals["bm25_expansions"][i]), 4) if i is not None else 0.0,
                second=round(float(parts["second"][i]), 4) if i is not None and "second" in parts else 0.0,
                coverage=round(float(parts["coverage"][i]), 4) if i is not None and "coverage" in parts else 0.0,
                matched_terms=matched_terms(plan, doc.title + "".join(section.path) + text),
            ))
        return results


def _joined(chunks: list[tuple[str, int, int]]) -> tuple[str, int, int]:
    """Neighbouring chunks of one section as one passage: their overlap written once."""
    text, start, end = chunks[0]
    for t, s, e in chunks[1:]:
        if s < end:  # overlapping: the part after the previous end
            t = t[end - s:]
        elif s > end:
            t = "\n" + t
        text, end = text + t, max(end, e)
    return text, start, end


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
