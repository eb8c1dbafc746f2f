"""A plan's series: the documents that are the same plan of the same body in different years
(`2023年武进教育工作要点` → `2024年…`, the government work reports 1954–2025).

Two documents are of one series when their titles, with the year (or a congress's term and session)
and the places left out, are the same words, and they are of the same place. A title that names no
year is no yearly plan: documents of one title and several dates are versions (standing.py), not a series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.lifecycle import canonical_title
from indexer.lines import TITLE_SUFFIX
from indexer.places import full_name
from indexer.store import DocumentRow

_YEARS = re.compile(r"(?:19|20)\d{2}(?:\s*[-—－至到~]\s*(?:19|20)?\d{2,4})?\s*年度?|第[一二三四五六七八九十]+届|"
                    r"第[一二三四五六七八九十]+次会议")
_PLACE = re.compile(r"[\u4e00-\u9fff]{2,8}?(?:省|市|区|县|自治区|自治州)")


@dataclass
class Series:
    key: str  # what the documents have in common: the place and the title without year
    name: str  # for people: `武进区 · 教育工作要点`
    members: list[str]  # doc ids, oldest first

    def to_dict(self, docs: dict[str, DocumentRow]) -> dict:
        return {"key": self.key, "name": self.name,
                "members": [{"doc_id": d, "title": docs[d].title, "year": docs[d].year} for d in self.members]}


def series_key(doc: DocumentRow) -> tuple[str, str] | None:
    """(place, plan) for a yearly plan; None when the title names no year."""
    title = TITLE_SUFFIX.sub("", canonical_title(doc.title))
    plan = _YEARS.sub("", title)
    if plan == title:
        return None
    for m in list(_PLACE.finditer(plan)):
        if full_name(m.group()):
            plan = plan.replace(m.group(), "")
    for name in filter(None, [doc.region, *doc.places]):
        short = re.sub(r"(?:区|县|市|省|自治区)$", "", name)
        plan = plan.replace(name, "")
        if len(short) >= 2:
            plan = plan.replace(short, "")
    plan = re.sub(r"^(?:中共|中国共产党)", "", plan).strip("：: ")
    return (doc.region or "", plan) if len(plan) >= 2 else None


def find_series(docs: list[DocumentRow]) -> dict[str, Series]:
    """Every series of two or more documents of different years, by member doc id."""
    groups: dict[tuple[str, str], list[DocumentRow]] = {}
    for d in docs:
        key = series_key(d)
        if key:
            groups.setdefault(key, []).append(d)
    out: dict[str, Series] = {}
    for (place, plan), members in groups.items():
        if len({d.year for d in members if d.year}) < 2:
            continue
        members.sort(key=lambda d: (d.year or 0, d.date))
        series = Series(f"{place}|{plan}", " · ".join(x for x in (place, plan) if x), [d.doc_id for d in members])
        for d in members:
            out[d.doc_id] = series
    return out


def previous_in_series(series: dict[str, Series], doc_id: str) -> str | None:
    """The plan a document follows: the series member just before it."""
    s = series.get(doc_id)
    if not s:
        return None
    at = s.members.index(doc_id)
    return s.members[at - 1] if at > 0 else None
