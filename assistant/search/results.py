"""Search results: the record every engine returns, and how ranked chunks become results.

Shared by every search engine (the local index, Milvus), so that the same scores give the
same results: a section's best chunk per result, neighbouring chunks joined, long sections
giving more than one passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from indexer.chinese import to_simplified
from indexer.fusion import Fusion

from .postings import weighted
from .query import QueryPlan

# Granularity: a section of at least this many chunks is "long" (a notice without headings, an
# article group); its chunks may come back as several passages, neighbours joined into one.
LONG_SECTION_CHUNKS = 3
PASSAGES_PER_SECTION = 3
MAX_PASSAGE_CHARS = 800
# A passage is a copy of a better one when this share of the shorter one's 8-character runs
# (punctuation and spaces left out) is in the other and the figures of one are among the
# other's: a notice reprinted by another office, a plan item kept word for word from last
# year. A copy is shown once, its documents listed (`copies`), so the list holds five
# passages that differ. On every development set together (bench/tune_fusion.py, one run):
# NCPQA (notices reprinted by several offices) answer@5 0.939 → 0.945 and doc hit@5 0.959 →
# 0.966 counting the listed copies (0.937 counting each result's own document only), EQUALS
# cover@5 0.502 → 0.508, LawBench 0.202 → 0.206; the seeds have no copies.
COPY_SHARE = 0.8
COPY_RUN = 8
COPY_ROUNDS = 3  # searches for more passages when copies were folded
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOT_WORD = re.compile(r"\W")


def citation_of(title: str, year: int | None, region: str, path: list[str], label: str = "",
                number: str = "", library: str = "") -> str:
    """`title · year · region · 苏教办〔2023〕12号（已被《…》废止） › heading › heading`, after
    `［library］` when a search spans several libraries."""
    head = " · ".join(str(x) for x in (title, year, region, number) if x) + (f"（{label}）" if label else "")
    return (f"［{library}］" if library else "") + " › ".join([head, *path])


def labels(*parts: str) -> str:
    return "；".join(p for p in parts if p)


@dataclass
class Copy:
    """Another document's section that says what a result says."""

    doc_id: str
    title: str
    source: str
    year: int | None
    region: str
    section_id: str
    section_path: list[str]
    doc_type: str = ""
    org: str = ""
    doc_number: str = ""
    date: str = ""
    status: str = ""  # assistant.search.standing: 现行有效 / 已修订 / 已废止 / 尚未施行 / 不明
    status_label: str = ""  # what a citation says of a document no longer in force: 已被《…》废止
    place_label: str = ""  # a province's or city's document found for a place under it: 适用于金坛区
    library: str = ""

    @property
    def citation(self) -> str:
        return citation_of(self.title, self.year, self.region, self.section_path,
                           labels(self.status_label, self.place_label), self.doc_number, self.library)


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
    copies: list[Copy] = field(default_factory=list)  # the same passage in other documents or sections
    status: str = ""  # as Copy.status
    status_label: str = ""
    place_label: str = ""
    library: str = ""  # the library it came from, when a search spans several (federation.py)
    # Its fused score (a ranking's own scale, not shown): how results of several libraries merge.
    fused: float = field(default=0.0, repr=False, compare=False, metadata={"record": False})

    def to_json(self) -> dict:
        # Shallow: the lists are the result's own (asdict would deep-copy every one of them on
        # each search answered over HTTP); only the copies are records themselves.
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("record", True)}
        record["copies"] = [asdict(c) for c in self.copies]
        return record

    def as_copy(self) -> Copy:
        return Copy(**{f.name: getattr(self, f.name) for f in fields(Copy)})

    @property
    def citation(self) -> str:
        return citation_of(self.title, self.year, self.region, self.section_path,
                           labels(self.status_label, self.place_label), self.doc_number, self.library)


@dataclass
class Chunk:
    """What a result needs to know of one chunk."""

    text: str
    start: int
    end: int
    section_key: str
    section_path: list[str]
    doc: object  # indexer.store.DocumentRow


def group_passages(order: Iterable[int], section_of: Callable[[int], object], is_long: Callable[[object], bool],
                   span: Callable[[list[int]], int], k: int) -> list[list[int]]:
    """The chunk ids of each of the best `k` results, best first (`order`: ids, best first;
    ids of neighbouring chunks of one section differ by one).

    A result is a section's best chunk. A neighbouring chunk of the same section that ranks
    before the list is full extends that passage (up to MAX_PASSAGE_CHARS), so an answer that
    runs on past a chunk's end is shown whole. A long section (a notice without headings, a
    long article group) may also give another passage of its own, up to PASSAGES_PER_SECTION,
    when one of its other chunks is strong enough to make the top `k`."""
    results: list[list[int]] = []
    shown: dict[object, list[int]] = {}  # section → its results
    for row in order:
        section = section_of(row)
        mine = shown.get(section)
        if mine is None:
            if len(results) == k:
                break
            shown[section] = [len(results)]
            results.append([row])
            continue
        beside = next((i for i in mine if any(abs(row - r) == 1 for r in results[i])), None)
        if beside is not None:
            if span(results[beside] + [row]) <= MAX_PASSAGE_CHARS:
                results[beside].append(row)
        elif is_long(section) and len(mine) < PASSAGES_PER_SECTION and len(results) < k:
            mine.append(len(results))
            results.append([row])
    return [sorted(group) for group in results]


def make_results(groups: list[list[int]], fused: dict[int, float], rows: np.ndarray, signals: dict, fusion: Fusion,
                 plan: QueryPlan, chunks: dict[int, Chunk]) -> list[SearchResult]:
    where = {int(r): i for i, r in enumerate(rows)}
    parts = fusion.parts(signals) if len(rows) else {}
    relevance = fusion.relevance(parts) if len(rows) else np.zeros(0)

    def signal(name: str, i: int | None) -> float:
        return round(float(parts[name][i]), 4) if i is not None and name in parts else 0.0

    results = []
    for rank, group in enumerate(groups, start=1):
        row = max(group, key=fused.get)  # the best chunk gives the score and the signals
        best = chunks[row]
        doc = best.doc
        text, start, end = joined([(chunks[r].text, chunks[r].start, chunks[r].end) for r in group])
        i = where.get(row)
        results.append(SearchResult(
            rank=rank, score=round(float(relevance[i]), 4) if i is not None else 0.0, doc_id=doc.doc_id,
            title=doc.title, source=doc.source, year=doc.year, region=doc.region,
            section_id=f"{doc.doc_id}#{best.section_key}", section_path=best.section_path, text=text,
            start=start, end=end, doc_type=doc.doc_type, org=doc.org, doc_number=doc.doc_number, date=doc.date,
            dense=round(float(signals["cos_q"][i]), 4) if i is not None else 0.0,
            bm25=round(float(signals["bm25_words"][i] + fusion.expansion_weight * signals["bm25_expansions"][i]), 4)
            if i is not None else 0.0,
            second=signal("second", i), coverage=signal("coverage", i),
            matched_terms=matched_terms(plan, doc.title + "".join(best.section_path) + text),
            fused=float(fused[row]),
        ))
    return results


def without_copies(results_for: Callable[[int], list[SearchResult]], k: int) -> list[SearchResult]:
    """The best `k` results of which none repeats a better one (`results_for(n)`: the best `n`
    results as ranked); each copy left out is listed in the result it repeats."""
    n, kept = k, []
    for _ in range(COPY_ROUNDS):
        results = results_for(n)
        kept = fold_copies(results)
        if len(kept) >= k or len(results) < n:
            break
        n += k - len(kept)
    for rank, r in enumerate(kept[:k], start=1):
        r.rank = rank
    return kept[:k]


def fold_copies(results: list[SearchResult]) -> list[SearchResult]:
    kept: list[tuple[SearchResult, set[str], set[str]]] = []
    for r in results:
        runs, figures = _runs(r.text), set(_NUMBER.findall(r.text))
        twin = next((k for k, k_runs, k_figures in kept
                     if _shared(runs, k_runs) >= COPY_SHARE and (figures <= k_figures or k_figures <= figures)), None)
        if twin is None:
            kept.append((r, runs, figures))
        else:
            twin.copies += [r.as_copy(), *r.copies]
    return [r for r, _, _ in kept]


def _runs(text: str) -> set[str]:
    t = _NOT_WORD.sub("", text)
    return {t[i:i + COPY_RUN] for i in range(max(1, len(t) - COPY_RUN + 1))}


def _shared(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def with_copies(results: list[SearchResult]) -> list[SearchResult]:
    """Each result followed by its copies as results of their own (same text and score), for
    callers that want every document's section (precedents)."""
    out = []
    for r in results:
        out.append(replace(r, copies=[]))
        for c in r.copies:
            out.append(replace(r, copies=[], **{f.name: getattr(c, f.name) for f in fields(Copy)}))
    return out


def joined(chunks: list[tuple[str, int, int]]) -> tuple[str, int, int]:
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


def coverage_of(texts: list[str], words: list[str] | dict[str, float], df: dict, n: int) -> np.ndarray:
    """The IDF-weighted share of the question's words in each text (the chunk's own text,
    without the title every chunk of a document is indexed with); given a dict, each word's
    IDF times its weight."""
    import math

    from indexer.chinese import to_traditional

    weights = {w: weight * math.log((n + 1) / (df[w] + 0.5)) for w, weight in weighted(words).items()
               if df.get(w) and weight}
    total = sum(weights.values())
    if not total or not texts:
        return np.zeros(len(texts))
    forms = [(weight, {w, to_traditional(w)}) for w, weight in weights.items()]
    return np.array([sum(weight for weight, ws in forms if any(w in t for w in ws)) for t in texts]) / total


def section_result(doc, section, text: str, start: int, end: int, rank: int = 1, score: float = 1.0) -> SearchResult:
    """A result for a span of a known section (`indexer.store.DocumentRow`, `SectionRow`), for
    answers that cite what they found without a search: a document's headings, every passage
    of the collection that mentions a term."""
    return SearchResult(
        rank=rank, score=score, doc_id=doc.doc_id, title=doc.title, source=doc.source, year=doc.year,
        region=doc.region, section_id=f"{doc.doc_id}#{section.key}", section_path=list(section.path), text=text,
        start=start, end=end, doc_type=doc.doc_type, org=doc.org, doc_number=doc.doc_number, date=doc.date)
