"""Quantified targets in policy text: a number with its unit, its qualifier, and the
clause that says what it counts (`评选15个左右…学校党组织`, `不少于32学时`,
`增加学位超12000个`, `不低于干部教育培训总课时的20%`)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

UNITS = (
    "人次|学时|课时|小时|个百分点|平方米|万平方米|亿元|万元|千元|元|万人|万名|万个|万所|万|亿|"
    "个|所|名|人|项|次|天|周|月|家|支|场|期|批|篇|门|节|座|间|套|台|本|届|条|类|件|家次|余所|余名|余个|"
    "%|％|‰|倍|公里|千米|米|亩|吨|张|户|园|校|团|组|班|处|种|区|镇|村"
)
BEFORE = r"(?:不少于|不低于|不超过|不高于|不多于|至少|超过|多于|少于|低于|高于|达到|达|超|约|近|逾|力争|确保|增加|新增|新建|减少|累计|共)"
AFTER = r"(?:左右|以上|以内|以下|上下|余|多)"
_NUMBER = r"\d+(?:\.\d+)?(?:\s*[-—~～至]\s*\d+(?:\.\d+)?)?"  # 15, 2.5, 1-2
# [qualifier [… 的]] number unit [qualifier]
TARGET = re.compile(
    rf"(?:(?P<before>{BEFORE})(?P<between>[^，。；、\d]{{0,14}}的)?)?(?P<num>{_NUMBER})\s*(?P<unit>{UNITS})(?P<after>{AFTER})?"
)
_CLAUSE_END = "，。；！？\n"
# Numbers that are names, dates or ordinals, not targets.
_NOT_TARGET_BEFORE = re.compile(r"(?:第|十|“|《|〔|\[|（|\(|年|月)$")
_NOT_TARGET_AFTER = re.compile(r"^(?:年|月|日|号|周年|”|》|〕|\.)")


@dataclass
class Target:
    value: str  # as written: 不少于32学时, 15个左右, 超12000个
    number: float
    unit: str
    qualifier: str  # 不少于 / 左右 / 超 …
    counts: str  # the clause the number sits in: what it counts
    section_id: str = ""
    citation: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _clause(text: str, start: int, end: int) -> str:
    a = max((text.rfind(c, 0, start) for c in _CLAUSE_END), default=-1) + 1
    ends = [i for i in (text.find(c, end) for c in _CLAUSE_END) if i >= 0]
    b = min(ends) if ends else len(text)
    return text[a:b].strip(" 、：:")


def find_targets(text: str, section_id: str = "", citation: str = "") -> list[Target]:
    found: list[Target] = []
    for m in TARGET.finditer(text):
        num, unit = m.group("num"), m.group("unit")
        before_text = text[max(0, m.start("num") - 1):m.start("num")]
        after_text = text[m.end("unit"):m.end("unit") + 2]
        if _NOT_TARGET_BEFORE.search(before_text) or _NOT_TARGET_AFTER.match(after_text):
            continue
        if unit in ("区", "镇", "村", "校", "园", "团", "班", "组", "处") and not m.group("before"):
            continue  # 3区, 5校 … are too often parts of names
        if len(num.split(".")[0]) == 4 and num.startswith(("19", "20")) and unit not in ("个", "名", "人", "所", "万"):
            continue  # a year
        qualifier = "".join(x for x in (m.group("before"), m.group("after")) if x)
        value = m.group()
        number = float(re.split(r"[-—~～至]", num)[-1])
        found.append(Target(value, number, unit, qualifier, _clause(text, m.start(), m.end()), section_id, citation))
    return found
