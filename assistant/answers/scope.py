"""The scope a question names: years (`2024年`, `今年`, `近三年`), places (`武进区`), a kind of
document (`政府工作报告`, `工作要点`), the newest (`最新`). A scope is a constraint on the
documents an answer may draw on, not a hint: when no document is inside it, the answer says so
first and names the nearest documents instead (`索引中没有2026年的工作报告。最近的是2025年`).

A year counts as the documents' year when it opens the question or stands next to a place or a
kind of document (`2021年宝山区`, `1990年政府工作报告`); elsewhere (`到2035年基本实现…`) it is
something the documents speak of and left to search.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.store import DocumentRow
from indexer.tokenize import tokenize

from ..search.query import Filters, region_match
from .when import relative_years

_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(?:度)?")
_LATEST = re.compile(r"最新|最近(?:一|的)(?:份|个|次|版)?|现行")
# Place names that end like a district or county: named but absent from the index, they make the
# scope unmet (a city or province is left to search: its districts may be indexed).
_DISTRICT = re.compile(r"[\u4e00-\u9fffA-Za-z]{1,6}?(?:区|县|旗)$")
_NOT_PLACES = {"城区", "社区", "地区", "园区", "学区", "景区", "辖区", "市区", "山区", "灾区", "片区", "新区", "校区",
               "各区", "全区", "本区", "该区", "哪个区", "哪些区", "郊区", "老区", "小区", "牧区", "矿区", "林区"}
YES, MAYBE, NO = "yes", "maybe", "no"
YEAR_NEAR = 6
PLACE_KEPT = 0.5  # the share of documents with a place that makes a collection one kept by place
ANNUAL_SHARE = 0.5  # dated documents with their year in the title that make a collection a yearly one
KIND_CHARS = 4  # document types this long name documents; shorter ones are everyday words  # characters between a year and the place or kind that makes it the documents' year


@dataclass
class Scope:
    years: set[int] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)  # as the index spells them (武进区)
    kinds: set[str] = field(default_factory=set)  # document types (工作报告, 工作要点)
    kind_words: list[str] = field(default_factory=list)  # as the question says them (政府工作报告)
    unknown_places: list[str] = field(default_factory=list)  # named places the index has no document of
    latest: bool = False
    relative: str = ""  # how relative time was read: `按 2024 年理解`
    words: list[str] = field(default_factory=list)  # the question's text that says the scope

    def __bool__(self) -> bool:
        return bool(self.years or self.regions or self.kinds or self.unknown_places)

    def describe(self, years: set[int] | None = None) -> str:
        """The scope in words: `2021年宝山区的工作要点`."""
        years = self.years if years is None else years
        when = _years_text(years)
        where = "、".join(sorted(self.regions) + self.unknown_places)
        what = "、".join(self.kind_words) or "文件"
        return f"{when}{where}的{what}" if (when or where) else what

    def admits(self, doc: DocumentRow) -> bool:
        """The document is known to be inside the scope: every named year, place and kind is its own."""
        return self.fits(doc) == YES

    def fits(self, doc: DocumentRow) -> str:
        """YES: inside; MAYBE: nothing known of it contradicts the scope, but its year, place or
        kind is not known (a notice whose date was not read); NO."""
        if self.unknown_places:
            return NO
        named = []
        if self.years:
            named.append((doc.year, lambda: doc.year in self.years))
        if self.regions:
            named.append((doc.region, lambda: region_match(doc.region, self.regions, doc.places)))
        if self.kinds:
            named.append((doc.doc_type, lambda: doc.doc_type in self.kinds))
        known = [match() for value, match in named if value]
        if not all(known):
            return NO
        return YES if len(known) == len(named) else MAYBE

    def to_json(self) -> dict:
        return {"years": sorted(self.years), "regions": sorted(self.regions), "kinds": self.kind_words,
                "unknown_places": self.unknown_places, "latest": self.latest}


def _years_text(years: set[int]) -> str:
    if not years:
        return ""
    ys = sorted(years)
    if len(ys) > 2 and ys[-1] - ys[0] == len(ys) - 1:
        return f"{ys[0]}—{ys[-1]}年"
    return "、".join(f"{y}年" for y in ys)


def read_scope(question: str, docs: list[DocumentRow], reference_year: int | None,
               vocabulary: Callable[[str], bool] = lambda word: False) -> Scope:
    """The scope `question` names, read against the index's documents (their places and kinds);
    `vocabulary(word)` says whether the index's text has a word (a place no document is tagged
    with but the texts speak of is left to search)."""
    scope = Scope()
    types = {d.doc_type for d in docs if d.doc_type}
    # a type of two characters is an everyday word too (通知, 方案, 计划): documents are named by
    # the longer ones (工作要点, 工作报告), said as their titles say them (政府工作报告)
    for kind in sorted((t for t in types if len(t) >= KIND_CHARS), key=len, reverse=True):
        at = question.find(kind)
        titles = [d.title for d in docs if d.doc_type == kind]
        word = _kind_phrase(question, at, kind, titles) if at >= 0 else ""
        if word and any(word in t for t in titles) and not any(word in w for w in scope.kind_words):
            scope.kind_words.append(word)
    # every type the phrase ends with is the same kind (报告 of 政府工作报告)
    scope.kinds = {t for t in types if any(w.endswith(t) for w in scope.kind_words)}
    regions = {d.region for d in docs if d.region}
    # the places above them too: `常州市` reaches the documents of 金坛区 and 武进区
    regions |= {p for d in docs for p in d.places[:-1]}
    words = set(tokenize(question))
    for region in sorted(regions, key=len, reverse=True):
        # `武进` for 武进区 when it is a word of the question (`已经开放` holds 经开 of 经开区)
        if region in question or _short(region) in words:
            scope.regions.add(region)
    # in a collection not kept by place (laws, national reports, notices mostly without a place) a
    # place no document is tagged with is the asker's, not a scope
    kept_by_place = sum(1 for d in docs if d.region) >= PLACE_KEPT * max(len(docs), 1)
    scope.unknown_places = [p for p in _unknown_places(question, regions) if not vocabulary(p)
                            and not vocabulary(_short(p))] if kept_by_place else []
    anchors = [(m.start(), m.end()) for w in scope.kind_words + [_short(r) for r in scope.regions]
               for m in re.finditer(re.escape(w), question)]
    annual = _annual(docs)
    for m in _YEAR.finditer(question):
        opens = annual and not question[:m.start()].strip(" ，,、和与及")
        near = any(0 <= a - m.end() <= YEAR_NEAR or 0 <= m.start() - b <= 2 for a, b in anchors)
        if opens or near or _joined_years(question, m):
            scope.years.add(int(m.group(1)))
            scope.words.append(m.group())
    hint = relative_years(question, reference_year)
    if hint and not scope.years:
        scope.years, scope.relative = set(hint.years), hint.label
    scope.latest = bool(_LATEST.search(question))
    return scope


def _annual(docs: list[DocumentRow]) -> bool:
    """Whether the collection's documents are yearly ones (`2024年工作要点`, `2025年政府工作报告`): most
    dated documents say their year in their title. Then a year opening a question is theirs; in a
    collection of laws or notices it dates the asker's case (`2018年工伤伤残标准…`)."""
    dated = [d for d in docs if d.year]
    return bool(dated) and sum(f"{d.year}" in d.title for d in dated) >= ANNUAL_SHARE * len(dated)


def _short(region: str) -> str:
    short = re.sub(r"(?:区|县|市|省|自治区|旗)$", "", region)
    return short if len(short) >= 2 else region


def _kind_phrase(question: str, at: int, kind: str, titles: list[str]) -> str:
    """The kind as the question says it, with the words before it that the documents' titles
    have too (政府 of 政府工作报告, 全面从严治党 of 全面从严治党工作要点), up to a year or a place."""
    start = at
    while start > 0 and re.match(r"[\u4e00-\u9fff]", question[start - 1]) and question[start - 1] not in "的年和与及在了是":
        if not any(question[start - 1:at + len(kind)] in t for t in titles):
            break
        start -= 1
    return question[start:at + len(kind)]


def _joined_years(question: str, m: re.Match) -> bool:
    """One of several years joined (`2024年和2023年`), the first of which is the documents' year."""
    after = question[m.end():m.end() + 3]
    before = question[max(0, m.start() - 2):m.start()]
    return bool(re.match(r"\s*(?:和|与|及|、|至|到|-|—)\s*(?:19|20)\d{2}", after)) or bool(re.search(r"(?:和|与|及|、)$", before))


def _unknown_places(question: str, regions: set[str]) -> list[str]:
    from indexer.tokenize import part_of_speech

    found = []
    for word, tag in part_of_speech(question):
        district = tag == "ns" and _DISTRICT.search(word) and word not in _NOT_PLACES and len(word) >= 3
        if district and not any(region_match(r, {word}) or word.startswith(_short(r)) for r in regions):
            found.append(word)
    return found


@dataclass
class Placed:
    """The documents an answer may draw on, and what the answer must say about them."""

    docs: list[DocumentRow]  # inside the scope (or its nearest substitute)
    met: bool  # the scope was met, or the question named none
    gap: str = ""  # `索引中没有2026年的工作报告。最近的是2025年：`
    substituted: str = ""  # what stands in for the scope: `2025年的工作报告`

    def filters(self, user: Filters | None) -> Filters:
        base = user or Filters()
        return Filters(years=base.years, regions=base.regions, prefer_years=base.prefer_years,
                       docs={d.doc_id for d in self.docs} if self.docs else base.docs, current_only=base.current_only)


def place(scope: Scope, docs: list[DocumentRow], allowed: set[str] | None) -> Placed:
    """The documents inside `scope` among those the user's filters allow (`allowed`, None: all),
    with those whose year, place or kind is not known (they may be inside); when none is known to
    be inside and none may be, the nearest: the same place and kind in the closest years, then
    the same kind anywhere."""
    pool = [d for d in docs if allowed is None or d.doc_id in allowed]
    if not scope:
        return Placed(pool, True)
    fits = {d.doc_id: scope.fits(d) for d in pool}
    inside = [d for d in pool if fits[d.doc_id] != NO]
    if inside:
        return Placed(inside, True)
    near = _nearest(scope, pool)
    missing = f"索引中没有{scope.describe()}。"
    if not near:
        return Placed([], False, missing, "")
    years = {d.year for d in near if d.year}
    instead = Scope(years=years, regions={d.region for d in near if d.region} & scope.regions or scope.regions,
                    kinds=scope.kinds, kind_words=scope.kind_words)
    said = instead.describe()
    return Placed(near, False, f"{missing}以下是最接近的{said}（仅供参考，并非所问范围）：", said)


def _nearest(scope: Scope, pool: list[DocumentRow]) -> list[DocumentRow]:
    if scope.unknown_places:
        return []  # another place's text is no answer about this one
    relaxed = Scope(regions=scope.regions, kinds=scope.kinds)
    same = [d for d in pool if relaxed.admits(d)] or [d for d in pool if Scope(kinds=scope.kinds).admits(d)]
    if not scope.years:
        return same
    dated = [d for d in same if d.year]
    if not dated:
        return []
    distance = {d.doc_id: min(abs(d.year - y) for y in scope.years) for d in dated}
    best = min(distance.values())
    return [d for d in dated if distance[d.doc_id] == best]
