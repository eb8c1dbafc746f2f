"""Comparisons and series: `2024年和2023年…有什么不同`, `宝山区和金坛区在…上的要求有什么不同`,
`近三年…分别是多少`. One block per side (a year, a place), each drawn only from that side's
documents and cited, the side with nothing said to have nothing; the first sentence of each
side side by side in `table` (the page and Markdown show it as a table)."""

from __future__ import annotations

import re
from dataclasses import replace

from ...search.collection import collection_of
from ...search.query import Filters
from ..record import Answer, AnswerPoint
from ..scope import Scope
from .base import Asking, Kind, core_of
from .collection import find_mentions

_COMPARE = re.compile(r"相比|对比|比较|不同|区别|差异|变化|异同|有何变|变了|调整了")
_SERIES = re.compile(r"分别|历年|每年|逐年|各年|近[一二两三四五六七八九十\d]{1,2}年|过去[一二两三四五六七八九十\d]{1,2}年|这几年|变化趋势|趋势")
_ASKING_WORDS = re.compile(r"有什么不同|有何不同|有什么区别|有什么变化|有哪些变化|有何变化|相比|对比|比较|分别|历年|各年|的?异同")
_EVERY_YEAR = re.compile(r"历年|每年|逐年|各年|历次")
_FIGURE_WORD = re.compile(r"(?:目标|指标|率|比例|比重|规模|增速|幅度|涨幅|金额|数量|人数|标准)$")
PER_SIDE = 2  # passages searched per side
MAX_SIDES = 10


def answer_sides(asking: Asking) -> Answer | None:
    sides = _sides(asking)
    if len(sides) < 2:
        return None
    query = _side_query(asking)
    points, passages, table, empty = [], [], [], []
    series = _named_series(asking)
    for label, side in sides:
        docs = [d for d in asking.placed.docs if side.admits(d)]
        docs = [d for d in docs if d.doc_id in series] or docs
        found = _side_passages(asking, query, docs)
        if not found:
            empty.append(label)
            table.append({"side": label, "text": "没有找到相关内容", "citations": []})
            continue
        base = len(passages)
        side_points, _ = asking.extract(query, found)
        side_points = side_points[:1]
        passages += [replace(p, rank=base + i) for i, p in enumerate(found, start=1)]
        for p in side_points:
            cites = [base + c for c in p.citations]
            points.append(AnswerPoint(f"{label}：{p.text}", cites))
            table.append({"side": label, "text": p.text, "citations": cites})
    if not points:
        return None
    names = "、".join(label for label, _ in sides)
    lead = f"按{names}分别列出：" + (f"{'、'.join(empty)}没有找到相关内容。" if empty else "")
    kind = "series" if _SERIES.search(asking.question) else "compare"
    return asking.answer(kind, points=points, passages=passages, lead=lead, table=table, gap=asking.placed.gap)


def _side_passages(asking: Asking, query: str, docs) -> list:
    """A side's passages: those holding the topic's words first; none when no passage holds them
    and search finds nothing relevant (a side's filter is narrow: its own relevance is lower)."""
    if not docs:
        return []
    core = core_of(query)
    results = asking.engine.search(query, k=2 * PER_SIDE, filters=Filters(docs={d.doc_id for d in docs}))
    holding = [r for r in results if core in r.text]
    if holding:
        return holding[:PER_SIDE]
    relevant = asking.search(query, Filters(docs={d.doc_id for d in docs}), PER_SIDE)
    return relevant


def _sides(asking: Asking) -> list[tuple[str, Scope]]:
    scope = asking.scope
    if len(scope.years) >= 2:
        # in the question's order when it names them (2024年和2023年), else oldest first (近三年)
        years = sorted(scope.years, key=lambda y: (_first_at(asking.question, f"{y}年"), y))[:MAX_SIDES]
        return [(f"{y}年", Scope(years={y})) for y in years]
    if len(scope.regions) >= 2:
        order = sorted(scope.regions, key=lambda r: _first_at(asking.question, r))
        return [(r, Scope(regions={r})) for r in order[:MAX_SIDES]]
    if _EVERY_YEAR.search(asking.question):  # `历年…分别是多少`: the years whose documents speak of it
        core = core_of(_side_query(asking))
        years = sorted({m.doc.year for m in find_mentions(asking, asking.placed.docs, core) if m.doc.year})
        return [(f"{y}年", Scope(years={y})) for y in years[-MAX_SIDES:]]
    return []


def _named_series(asking: Asking) -> set[str]:
    """The documents of the plans' series the question names (`2024年和2023年的政府工作报告`): each year's
    side is then drawn from that plan, not from any document of the year (its other plans, resolutions)."""
    plans = {s.key: s for s in collection_of(asking.engine).series.values()}
    named = [s for s in plans.values() if s.key.partition("|")[2] in asking.question]
    if not named:
        return set()
    longest = max(len(s.key.partition("|")[2]) for s in named)
    return {d for s in named if len(s.key.partition("|")[2]) == longest for d in s.members}


def _first_at(question: str, region: str) -> int:
    short = region if region.endswith("年") else re.sub(r"(?:区|县|市|省|自治区|旗)$", "", region)
    at = question.find(short)
    return at if at >= 0 else len(question)


def _side_query(asking: Asking) -> str:
    """The question without its sides and its comparing words: what each side is asked about; a
    target or a rate is asked for as a figure (`…目标是多少`), so each side gives its number."""
    topic = asking.topic(_ASKING_WORDS)
    if len(topic) < 2:
        return asking.question
    if _FIGURE_WORD.search(topic) and not re.search(r"多少|几", topic):
        topic += "是多少"
    return topic


COMPARE = Kind("compare", _COMPARE, answer_sides)
SERIES = Kind("series", _SERIES, answer_sides)
