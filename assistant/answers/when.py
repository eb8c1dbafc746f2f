"""Relative time in a question: `今年`, `去年`, `明年`, `近三年` read against a reference year
(the newest year of the index, or a date the user gives), as a preference for documents of
those years, never as a filter: a question still gets an answer when no document is of that
year, and the answer says how the time was understood (`按 2024 年理解`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.textutil import cn_to_int

_OFFSETS = {"今年": 0, "本年": 0, "本年度": 0, "当年": 0, "去年": -1, "上年": -1, "上一年": -1, "前年": -2,
            "明年": 1, "下一年": 1, "来年": 1}
_RECENT = re.compile(r"(?:近|最近|过去|前)([一二两三四五六七八九十\d]{1,2})年")
_SINGLE = re.compile("|".join(sorted(map(re.escape, _OFFSETS), key=len, reverse=True)))


@dataclass
class TimeHint:
    years: set[int] = field(default_factory=set)
    label: str = ""  # `按 2024 年理解`

    def __bool__(self) -> bool:
        return bool(self.years)


def relative_years(question: str, reference_year: int | None) -> TimeHint:
    """The years a question's relative time words mean, against `reference_year`."""
    if not reference_year:
        return TimeHint()
    m = _RECENT.search(question)
    if m:
        n = cn_to_int(m.group(1)) or 0
        if 1 <= n <= 20:
            years = set(range(reference_year - n + 1, reference_year + 1))
            return TimeHint(years, f"按 {min(years)}—{reference_year} 年理解")
    m = _SINGLE.search(question)
    if m:
        year = reference_year + _OFFSETS[m.group()]
        return TimeHint({year}, f"按 {year} 年理解")
    return TimeHint()


def reference_year(years: list[int | None], today: str | None = None) -> int | None:
    """The year `今年` means: the user's date when given (`2025-03-01` or `2025`), else the
    newest year among the indexed documents."""
    if today:
        m = re.match(r"\s*(\d{4})", today)
        if m:
            return int(m.group(1))
    known = [y for y in years if y]
    return max(known) if known else None


_MARKABLE = re.compile(r"(今年|本年|去年|上年|明年)(?![（(]\d)")


def mark_relative(text: str, year: int) -> str:
    """`今年` in a document of `year` as `今年（2024年）`, so a quoted sentence never passes another
    year's `今年` off as the asked one."""
    return _MARKABLE.sub(lambda m: f"{m.group()}（{year + _OFFSETS[m.group()]}年）", text)
