"""What a question asks for, and whether a sentence gives it.

`多少学时` asks for a number with the unit 学时; `什么时候` for a date or a period; `哪个部门`
for an organisation; `能不能` for a condition or a rule; `怎么办` for measures. A sentence
gives a figure only when it also speaks of the question's subject: `党员…不少于32学时`
does not answer `教师培训有多少学时`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER, DATE, ORG, CONDITION, MEASURES = "number", "date", "org", "condition", "measures"

_KINDS = [
    (NUMBER, re.compile(r"多少|几[个项所名人次天年月条处岁倍成家批类种]|几|比例|比重|占比|百分之|数量|金额|标准是|额度|上限|下限|多大|多长|多久|多高|多远")),
    (DATE, re.compile(r"何时|什么时候|哪一?天|哪一?年|几月|几号|期限|时限|截止|多久之内|什么时间|日期|起止|哪段时间")),
    (ORG, re.compile(r"哪个部门|哪些部门|哪个单位|哪个机构|哪家|谁负责|由谁|谁来|负责部门|主管部门|牵头|找谁|向谁|哪里办")),
    (CONDITION, re.compile(r"是否|能不能|能否|可不可以|可以吗|能吗|行吗|算不算|要不要|需不需要|需要吗|合法吗|违法吗|有没有")),
    (MEASURES, re.compile(r"怎么办|怎么做|如何|怎样|怎么|哪些措施|什么措施|有哪些|做了什么|采取了")),
]
# The unit a number is asked in: the word after 多少 / 几 (多少学时, 几所学校), or a unit word
# the question names.
_UNIT_AFTER = re.compile(r"(?:多少|几)(?:个)?([\u4e00-\u9fff]{1,2})")
UNITS = ("学时", "课时", "小时", "学分", "学位", "万元", "亿元", "千元", "元", "万人", "人次", "人", "名", "所", "个",
         "项", "家", "天", "日", "周", "月", "年", "岁", "倍", "次", "条", "平方米", "亩", "公里", "吨", "床", "班")
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*[%％‰]|百分之[一二三四五六七八九十百]+|[一二三四五六七八九十]成")
_DATE_IN_TEXT = re.compile(
    r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*月(?:底|初|中旬|上旬|下旬)"
    r"|[一二三四五六七八九十\d]+\s*(?:个)?(?:工作日|日内|天内|月内|年内|小时内)|之日起|以前|前完成|年底|年内|即日起|每年|每学期|每月")
_ORG_IN_TEXT = re.compile(r"[\u4e00-\u9fff]{1,12}(?:委员会|人民政府|办公室|局|厅|委|部|处|科|中心|学校|医院|法院|检察院|机构|部门|单位|政府)")
_CONDITION_IN_TEXT = re.compile(r"应当|不得|可以|必须|禁止|需要|须|符合|条件|方可|有权|不予|准予|依法|经.{1,10}(?:批准|同意)")
_MEASURE_IN_TEXT = re.compile(r"要|应|加强|落实|建立|推进|开展|实施|完善|健全|强化|做好|严格|推动|加快|提供|实行|组织")
# Words that say what kind of answer is wanted but not what it is about.
GENERIC = set("要求 规定 情况 工作 措施 问题 方面 内容 政策 计划 安排 方案 要点 目标 任务 标准 办法 文件 有关 相关 具体 哪些 什么 "
              "多少 怎么 怎样 如何 为什么 是否 可以 能否 需要 应该 应当 哪个 哪里 时候 时间 部门 单位 谁 吗 呢 的 了 有 是 和 与 "
              "对 在 中 等 及 个 今年 去年 明年 近年 目前 现在 一般 主要 哪 请问 我 我们 你们 他们 进行 做好 做了 采取 出台 提出 "
              "规定 年 月 日 时 里 上 下 些 几 可 能 会 要 就 还 都 也 该 这 那 么 啊 呀".split())


@dataclass
class Asked:
    kind: str | None  # number | date | org | condition | measures | None
    unit: str = ""  # for a number: 学时, 学位 … ('' when the question names none)
    subject: list[str] = field(default_factory=list)  # the question's words about what it asks of

    @property
    def wants_fact(self) -> bool:
        """A figure, a date or an office: an answer without one has a gap to say."""
        return self.kind in (NUMBER, DATE, ORG)

    def gap_message(self) -> str:
        about = "".join(self.subject[:3])
        about = f"{about}的" if about else ""
        what = {NUMBER: f"具体{self.unit}数" if self.unit else "具体数字", DATE: "具体时间或期限",
                ORG: "具体负责的部门或单位"}[self.kind]
        return f"文件中没有找到{about}{what}。相关内容："


def asked(question: str, words: list[str]) -> Asked:
    kind = next((k for k, pattern in _KINDS if pattern.search(question)), None)
    unit = ""
    if kind == NUMBER:
        m = _UNIT_AFTER.search(question)
        if m:
            unit = next((u for u in UNITS if m.group(1).startswith(u)), "")
        if not unit:
            unit = next((u for u in UNITS if len(u) > 1 and u in question), "")
    subject = [w for w in dict.fromkeys(words) if w not in GENERIC and w != unit and len(w) >= 2 and not w.isdigit()]
    return Asked(kind, unit, subject)


def gives(a: Asked, sentence: str) -> bool:
    """Whether a sentence holds the kind of thing asked (before any check of its subject)."""
    if a.kind == NUMBER:
        if a.unit:  # `32学时`, `12000个学位`, or `学位超12000个`
            unit = re.escape(a.unit)
            return bool(re.search(rf"(?:\d|[一二三四五六七八九十百千万两])\s*(?:个)?{unit}|{unit}[^，。；]{{0,6}}\d", sentence))
        return bool(_PERCENT.search(sentence) or re.search(r"\d", sentence))
    if a.kind == DATE:
        return bool(_DATE_IN_TEXT.search(sentence))
    if a.kind == ORG:
        return bool(_ORG_IN_TEXT.search(sentence))
    if a.kind == CONDITION:
        return bool(_CONDITION_IN_TEXT.search(sentence))
    if a.kind == MEASURES:
        return bool(_MEASURE_IN_TEXT.search(sentence))
    return False


def about_subject(a: Asked, sentence: str, context: str) -> bool:
    """Every subject word is in the sentence or in its context (title, headings, region)."""
    return all(w in sentence or w in context for w in a.subject)
