"""Draft check: for each item of a pasted draft plan, the closest precedents; and the
topics of the most recent comparable plan that the draft does not cover.

A section of the comparable plan counts as covered when it is one of a draft item's
closest precedents, or when some draft item is closer to it than any other section of
its own plan is (plus a small margin): items of one plan share its vocabulary, so their
mutual similarity is the background a real match has to beat. A near-copy always
counts. The summary, the page and both exports read the same report, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from indexer.chunk import chunk_document
from indexer.errors import PolicyQAError
from indexer.parse import parse_text
from indexer.store import DocumentRow

from ..answers.answer import Answerer
from ..search.inputs import check_draft_items, check_draft_size
from ..search.query import Filters
from ..search.results import SearchResult, with_copies
from ..search.series import series_key
from .changes import ADDED, KEPT, NOT_WORD, REWORDED, match_items, plan_items
from .compare import SectionInfo
from .precedents import DocRef

MARGIN = 0.01
NEAR_COPY = 0.97
PRECEDENTS_PER_ITEM = 3


class DraftError(PolicyQAError, ValueError):
    pass


@dataclass
class DraftItem:
    path: list[str]
    text: str
    precedents: list[SearchResult] = field(default_factory=list)
    change: str = ""  # against the plan it follows: 新增 / 沿用 / 调整 ('' without a comparable plan)
    follows: SectionInfo | None = None  # that plan's item this one keeps or rewords


@dataclass
class DraftReport:
    title: str
    items: list[DraftItem]
    comparable: DocRef | None
    reason: str
    missing: list[SectionInfo]
    covered: int = 0  # sections of the comparable plan the draft covers

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "items": [{"path": it.path, "text": it.text, "change": it.change,
                       "follows": None if it.follows is None else {"section_id": it.follows.section_id,
                                                                   "citation": it.follows.citation},
                       "precedents": [p.to_json() for p in it.precedents]}
                      for it in self.items],
            "comparable": self.comparable.__dict__ if self.comparable else None,
            "reason": self.reason,
            "covered": self.covered,
            "missing": [{"section_id": m.section_id, "path": m.path, "citation": m.citation, "text": m.text}
                        for m in self.missing],
        }


def draft_items(text: str) -> tuple[str, str, str, list[DraftItem]]:
    """(title, region, doc type, items) of a draft; items are its lowest-level sections."""
    if not (text or "").strip():
        raise DraftError("草稿为空")
    doc = parse_text(text, "草稿.txt")
    paths = {s.key: s.path for s in doc.sections}
    items: dict[str, DraftItem] = {}
    for c in chunk_document(doc, max_chars=10**6):
        if c.section_key.startswith("p"):
            continue  # the opening is not an item
        item = items.setdefault(c.section_key, DraftItem(paths[c.section_key], ""))
        item.text += c.text
    if not items:  # no numbered items: every paragraph is one
        items = {str(i): DraftItem([p[:20]], p) for i, p in enumerate(doc.text.split("\n")) if len(p) >= 10}
    return doc.meta.title, doc.meta.region, doc.meta.doc_type, list(items.values())


def check_draft(answerer: Answerer, text: str, filters: Filters | None = None) -> DraftReport:
    searcher = answerer.searcher
    text = check_draft_size(text)
    title, region, doc_type, items = draft_items(text)
    if not items:
        raise DraftError("草稿中没有可识别的条目")
    check_draft_items(len(items))
    for item in items:
        # a plan item kept word for word comes back as one result listing its copies: each is a precedent
        item.precedents = with_copies(searcher.search(item.text, k=PRECEDENTS_PER_ITEM, filters=filters))
    item_vectors = searcher.encode([it.text for it in items])
    comparable, reason = _previous_plan(searcher, text, filters) or \
        _comparable_plan(searcher, items, item_vectors, region, doc_type, filters)
    if comparable is None:
        return DraftReport(title, items, None, reason, [])
    sections = plan_items(searcher, comparable)
    _label_items(searcher, items, sections)
    plan_vectors = searcher.encode([s.text for s in sections])
    missing = []
    precedent_of_an_item = {p.section_id for item in items for p in item.precedents}
    siblings = plan_vectors @ plan_vectors.T
    np.fill_diagonal(siblings, -1.0)
    best_draft = (plan_vectors @ item_vectors.T).max(axis=1)
    for i, s in enumerate(sections):
        background = siblings[i].max() if len(sections) > 1 else 0.0
        if s.section_id in precedent_of_an_item:
            continue
        if not (best_draft[i] >= NEAR_COPY or best_draft[i] > background + MARGIN):
            missing.append(s)
    ref = DocRef(comparable.doc_id, comparable.title, comparable.year, comparable.region)
    return DraftReport(title, items, ref, reason, missing, covered=len(sections) - len(missing))


def _comparable_plan(searcher, items, item_vectors, region: str, doc_type: str, filters):
    """The most recent plan of the draft's type (and region, when the draft names one);
    without either, the plan most of the draft's items find their precedent in."""
    allowed = searcher.in_scope(filters)
    docs = [d for d in searcher.documents() if allowed is None or d.doc_id in allowed]
    if doc_type:
        docs = [d for d in docs if d.doc_type == doc_type] or docs
    same_region = [d for d in docs if region and d.region == region]
    if same_region:
        best = max(same_region, key=lambda d: (d.year or 0, d.date))
        return best, f"同地区（{region}）最近的{doc_type or '文件'}"
    votes: dict[str, int] = {}
    for item in items:
        if item.precedents:
            votes[item.precedents[0].doc_id] = votes.get(item.precedents[0].doc_id, 0) + 1
    candidates = [d for d in docs if votes.get(d.doc_id, 0) >= max(1, 0.3 * len(items))]
    if not candidates:
        return None, "索引中没有可比的同类文件"
    best = max(candidates, key=lambda d: (d.year or 0, votes[d.doc_id]))
    return best, f"草稿条目的先例多出自此文件（{votes[best.doc_id]}/{len(items)} 条），取其中最近的一份"


def _previous_plan(searcher, text: str, filters) -> tuple | None:
    """The plan a draft follows by default: the latest earlier one of its series (`2025年武进教育工作要点`
    follows `2024年…`), None when the index holds none."""
    meta = parse_text(text, "草稿.txt").meta
    key = series_key(DocumentRow(-1, "", "", "", meta.title, meta.org, meta.doc_number, meta.date, meta.year,
                                 meta.region, meta.doc_type, 0, places=meta.places))
    if key is None:
        return None
    allowed = searcher.in_scope(filters)
    same = [d for d in searcher.documents() if series_key(d) == key and (allowed is None or d.doc_id in allowed)
            and (not meta.year or not d.year or d.year < meta.year)]
    if not same:
        return None
    best = max(same, key=lambda d: (d.year or 0, d.date))
    return best, f"同一系列的上一份计划（{best.year or best.title}）"


def _label_items(searcher, items: list[DraftItem], sections: list[SectionInfo]) -> None:
    """Each draft item against the plan it follows: 沿用, 调整 (with that plan's item) or 新增."""
    follows = {j: i for i, j, _ in match_items(searcher, [s.text for s in sections], [it.text for it in items])}
    for j, item in enumerate(items):
        if j not in follows:
            item.change = ADDED
            continue
        item.follows = sections[follows[j]]
        same = NOT_WORD.sub("", item.follows.text) == NOT_WORD.sub("", item.text)
        item.change = KEPT if same else REWORDED


def read_draft(path) -> str:
    from pathlib import Path

    from indexer.read import UnreadableFile
    from indexer.reader_process import read_isolated

    if not Path(path).is_file():
        raise DraftError(f"找不到草稿文件：{path}")
    try:
        return read_isolated(Path(path))
    except UnreadableFile as e:
        raise DraftError(f"{path}：{e}") from e

