"""Precedents for drafters: how each document phrased a topic, with what targets.

For a topic (`党建品牌创建`) or a pasted paragraph: the best-matching section of
every document that has one, ordered by year then region; weak matches left out
(relevance below the calibrated floor, or far below the best document); passages
that are near-duplicates across documents collapsed into one with their sources;
which documents address the topic and which do not; the quantified targets.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from indexer.tokenize import tokenize

from ..answers.answer import Answerer
from ..search.collection import collection_of
from ..search.inputs import shorten_topic
from ..search.query import Filters
from ..search.results import SearchResult, with_copies
from .targets import Target, find_targets

# A document counts as addressing the topic when its best section's relevance is at
# least the answer floor and within SPREAD of the best document's. Calibrated on the
# multi-document questions of both dev sets: 0.12 keeps every document that has a gold
# section (54 of 54 question-document pairs; 0.10 keeps 53), at precision 0.55.
SPREAD = 0.12
# Another section of the same document is shown too when its relevance is this close to the
# document's best: plans often spread one topic over two items.
SEE_ALSO_MARGIN = 0.03
# A section's relevance to a topic: its cosine plus 0.1 × the IDF-weighted share of the
# topic's words it contains, title and headings included; floors per model, calibrated with
# the multi-document questions of both dev sets (every gold document kept).
COVERAGE_WEIGHT = 0.1
FLOORS = {"m3e-small": 0.68, "m3e-small:onnx-int8": 0.71}
DUPLICATE_RATIO = 0.8
MAX_CANDIDATE_SECTIONS = 1000


@dataclass
class DocRef:
    doc_id: str
    title: str
    year: int | None
    region: str

    @property
    def label(self) -> str:
        return " ".join(str(x) for x in (self.year, self.region) if x) or self.title


@dataclass
class Precedent:
    section: SearchResult
    relevance: float
    see_also: list[SearchResult] = field(default_factory=list)  # close sections of the same document
    duplicates: list[SearchResult] = field(default_factory=list)  # the same passage in other documents

    @property
    def sources(self) -> list[SearchResult]:
        return [self.section, *self.duplicates]

    def to_json(self) -> dict:
        return {
            "section": self.section.to_json(),
            "relevance": round(self.relevance, 4),
            "see_also": [s.to_json() for s in self.see_also],
            "duplicates": [s.to_json() for s in self.duplicates],
        }


@dataclass
class PrecedentSet:
    query: str
    precedents: list[Precedent]
    covered: list[DocRef]
    not_covered: list[DocRef]
    targets: list[Target]
    series: list[SeriesTrack] = field(default_factory=list)

    def sections(self) -> list[SearchResult]:
        out = []
        for p in self.precedents:
            out += [p.section, *p.see_also, *p.duplicates]
        return out

    def coverage_line(self) -> str:
        yes = "、".join(d.label for d in self.covered) or "无"
        no = "、".join(d.label for d in self.not_covered) or "无"
        return f"涉及该主题的文件（{len(self.covered)}）：{yes}；未涉及（{len(self.not_covered)}）：{no}"

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "coverage": self.coverage_line(),
            "covered": [d.__dict__ for d in self.covered],
            "not_covered": [d.__dict__ for d in self.not_covered],
            "precedents": [p.to_json() for p in self.precedents],
            "targets": [t.to_json() for t in self.targets],
            "series": [t.to_json() for t in self.series],
        }


@dataclass
class SeriesTrack:
    """The precedents of one plan's series (the same plan of one body, year after year), oldest first:
    how the item was written from year to year."""

    name: str  # `武进区 · 教育工作要点`
    sections: list[SearchResult]

    def to_json(self) -> dict:
        return {"name": self.name, "sections": [{"year": s.year, "doc_id": s.doc_id, "title": s.title,
                                                 "section_id": s.section_id, "citation": s.citation}
                                                for s in self.sections]}


def series_tracks(precedents: list[Precedent], collection) -> list[SeriesTrack]:
    """The precedents that belong to one series, for each series with two or more years among them."""
    groups: dict[str, list[SearchResult]] = {}
    names: dict[str, str] = {}
    for section in (s for p in precedents for s in p.sources):  # a near-copy of last year's item too
        series = collection.series.get(section.doc_id)
        if series is not None:
            groups.setdefault(series.key, []).append(section)
            names[series.key] = series.name
    return [SeriesTrack(names[key], sorted(sections, key=lambda s: (s.year or 0, s.date)))
            for key, sections in groups.items() if len({s.doc_id for s in sections}) > 1]


def _ref(r) -> DocRef:
    return DocRef(r.doc_id, r.title, r.year, r.region)


def similar_text(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def find_precedents(answerer: Answerer, text: str, filters: Filters | None = None) -> PrecedentSet:
    searcher = answerer.searcher
    text = shorten_topic(text).strip()
    k = min(MAX_CANDIDATE_SECTIONS, max(1, int(searcher.manifest.get("counts", {}).get("sections", MAX_CANDIDATE_SECTIONS))))
    results = with_copies(searcher.search(text, k=k, filters=filters))  # every document's own section
    terms = set(tokenize(text))
    per_doc: dict[str, list[SearchResult]] = {}
    seen: set[str] = set()
    for r in results:  # a section's best passage only: a long one may come back more than once
        if r.section_id not in seen:
            seen.add(r.section_id)
            per_doc.setdefault(r.doc_id, []).append(r)
    relevance = {r.section_id: section_relevance(answerer, terms, r) for rs in per_doc.values() for r in rs}
    top = max((relevance[rs[0].section_id] for rs in per_doc.values()), default=0.0)
    floor = max(FLOORS.get(searcher.model_name, 0.0), top - SPREAD)

    precedents = []
    for rs in per_doc.values():
        best = relevance[rs[0].section_id]
        if best < floor:
            continue
        close = [r for r in rs[1:4] if best - relevance[r.section_id] <= SEE_ALSO_MARGIN
                 and relevance[r.section_id] >= floor]
        precedents.append(Precedent(rs[0], best, see_also=close))
    for p in precedents:
        for r in (p.section, *p.see_also):
            _whole_section(searcher, r)
    precedents = _collapse_duplicates(precedents)
    precedents.sort(key=lambda p: (p.section.year or 0, p.section.region, p.section.title))

    allowed = searcher.in_scope(filters)
    in_scope = [d for d in searcher.documents() if allowed is None or d.doc_id in allowed]
    covered_ids = {s.doc_id for p in precedents for s in p.sources}
    covered = sorted((_ref(d) for d in in_scope if d.doc_id in covered_ids), key=lambda d: (d.year or 0, d.region))
    missing = sorted((_ref(d) for d in in_scope if d.doc_id not in covered_ids), key=lambda d: (d.year or 0, d.region))
    targets = []
    for p in precedents:
        for s in (p.section, *p.see_also):
            targets += find_targets(s.text, s.section_id, s.citation)
    tracks = series_tracks(precedents, collection_of(searcher))
    return PrecedentSet(text, precedents, covered, missing, targets, tracks)


def section_relevance(answerer: Answerer, terms: set[str], r: SearchResult) -> float:
    context = r.title + "".join(r.section_path) + r.text
    return r.dense + COVERAGE_WEIGHT * answerer.coverage(terms, context)


def _whole_section(engine, r: SearchResult) -> None:
    """A drafter reads the whole item, not the chunk that matched."""
    section = engine.section(r.section_id)
    if section is not None:
        r.text = engine.document_text(r.doc_id)[section.start:section.end]
        r.start, r.end = section.start, section.end


def _collapse_duplicates(precedents: list[Precedent]) -> list[Precedent]:
    """Keep the most recent of near-identical passages; list the others as its sources."""
    ordered = sorted(precedents, key=lambda p: (p.section.year or 0), reverse=True)
    kept: list[Precedent] = []
    for p in ordered:
        twin = next((k for k in kept if similar_text(k.section.text, p.section.text) >= DUPLICATE_RATIO), None)
        if twin is None:
            kept.append(p)
        else:
            twin.duplicates.append(p.section)
    return kept
