"""Questions about the whole collection: which documents, years or places mention something, and
when it was first or last mentioned. Every document in scope is read (not a top-5 sample); the
answer names them all, grouped by document, year or place, each with one cited passage.

A mention is the topic as written (`课后服务`); when no document has it so, every distinctive
word of it in one sentence (`近视防控` in `近视综合防控工作`). Words most passages hold (`学校`,
`建设` in an education bureau's plans) do not make a mention by themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.store import DocumentRow, SectionRow
from indexer.textutil import split_sentences
from indexer.tokenize import tokenize

from ...search.results import section_result
from ..asked import GENERIC
from ..record import Answer, AnswerPoint
from .base import Asking, Kind, core_of

# What a collection question counts in: documents, years, places.
_COLLECTED = r"(?:年份|年度|年|区县|区|县|地区|地方|文件|文档|报告|要点|材料)"
_MENTION = r"(?:提到|提及|提出|写到|写了|出现|涉及|讲到|讲了|说到|谈到|部署|包含|有关于?)"
_WHICH = re.compile(
    rf"(?:哪些|哪几|哪个|哪一|哪)(?:个|份|篇)?{_COLLECTED}"
    rf"(?:的)?(?:[\u4e00-\u9fff]{{0,8}}?)(?:里|中|上)?{_MENTION}了?"
    rf"|(?:最早|最先|首次|第一次|最晚|最近一次|最后一次)(?:是)?(?:在)?(?:哪一?年|什么时候|何时)?{_MENTION}了?"
    rf"|{_MENTION}了?[^，。？?]{{0,20}}?的(?:有)?(?:哪些|哪几)(?:个|份|篇)?{_COLLECTED}"
    rf"|在哪(?:几|些)?(?:个|份|篇)?{_COLLECTED}(?:里|中)?{_MENTION}?")
# What a question may ask after naming the topic: `第一次提到互联网+是哪一年`.
_ASKED_AFTER = re.compile(r"(?:是|在|于)?(?:哪一?年|哪些年|哪几年|什么时候|何时|哪些文件|哪几个文件|哪份文件)[？?]*$")
_BY_YEAR = re.compile(r"年份|年度|哪一?年|哪几年|哪些年|什么时候|何时|最早|最先|首次|第一次|最晚|最近一次|最后一次")
_BY_PLACE = re.compile(r"哪(?:些|几|个)(?:个)?(?:区县|区|县|地区|地方)")
_FIRST = re.compile(r"最早|最先|首次|第一次|哪一?年(?:开始|起)")
_LAST = re.compile(r"最晚|最近一次|最后一次")
COMMON_SHARE = 0.2  # a word in more than this share of passages is common: not a mention alone
RAREST_SHARE = 0.01  # a topic's rarest word stands for it alone only when this rare
MAX_POINTS = 12


@dataclass
class Mention:
    doc: DocumentRow
    count: int
    start: int  # the first mention's sentence, in the document's text
    end: int
    section: SectionRow | None


def answer_which(asking: Asking) -> Answer | None:
    topic = core_of(_ASKED_AFTER.sub("", asking.topic(_WHICH)))
    if len(topic) < 2:
        return None
    docs = asking.placed.docs
    mentions = find_mentions(asking, docs, topic)
    by_year, by_place = bool(_BY_YEAR.search(asking.question)), bool(_BY_PLACE.search(asking.question))
    kind = "first" if _FIRST.search(asking.question) else "last" if _LAST.search(asking.question) else "which"
    if not mentions:
        where = asking.scope.describe() if asking.scope else "文件"
        return Answer(asking.question, "not_found", kind=kind, scope=asking.scope_json(), gap=asking.placed.gap,
                      message=f"索引中没有{where}提到“{topic}”。")
    if by_year or kind != "which":
        mentions = [m for m in mentions if m.doc.year] or mentions
        mentions.sort(key=lambda m: (m.doc.year or 0, m.doc.title))
    else:
        mentions.sort(key=lambda m: (-m.count, m.doc.region, m.doc.title))
    if kind == "first":
        shown = mentions[:3]
    elif kind == "last":
        shown = mentions[::-1][:3]
    else:
        shown = mentions[:MAX_POINTS] if not by_year else _spread(mentions, MAX_POINTS)
    text_of = {d: asking.engine.document_text(d) for d in {m.doc.doc_id for m in shown}}
    passages = [section_result(m.doc, m.section, text_of[m.doc.doc_id][m.start:m.end], m.start, m.end, rank=i)
                for i, m in enumerate(shown, start=1) if m.section is not None]
    points = [AnswerPoint(f"{_label(m)}：{p.text}", [i]) for i, (m, p) in enumerate(zip(shown, passages), start=1)]
    lead = _lead(kind, topic, mentions, by_year, by_place)
    return asking.answer(kind, points=points, passages=passages, lead=lead, gap=asking.placed.gap)


def find_mentions(asking: Asking, docs: list[DocumentRow], topic: str) -> list[Mention]:
    """Per document, the sentences that mention `topic`: as written, else its distinctive words."""
    texts = {d.doc_id: asking.engine.document_text(d.doc_id) for d in docs}
    verbatim = [d for d in docs if topic in texts[d.doc_id]]
    if verbatim:
        return [_mention(asking, d, texts[d.doc_id], lambda s: topic in s) for d in verbatim]
    words = _distinctive(asking, topic)
    if not words:
        return []
    found = _mentioning(asking, docs, texts, words)
    if not found and len(words) > 1:
        # In a larger collection more of the topic's words count as distinctive, and a sentence
        # seldom holds all of them (清廉学校建设 → 清廉, 学校; 金坛 writes 清廉校风): the rarest one
        # then, provided it is distinctive by itself.
        df, n = asking.engine.document_frequencies()
        rarest = min(words, key=lambda w: df.get(w, 0))
        if df.get(rarest, 0) <= RAREST_SHARE * max(n, 1):
            found = _mentioning(asking, docs, texts, [rarest])
    return found


def _mentioning(asking: Asking, docs: list[DocumentRow], texts: dict[str, str], words: list[str]) -> list[Mention]:
    found = [_mention(asking, d, texts[d.doc_id], lambda s: all(w in s for w in words))
             for d in docs if all(w in texts[d.doc_id] for w in words)]
    return [m for m in found if m.count]


def _distinctive(asking: Asking, topic: str) -> list[str]:
    df, n = asking.engine.document_frequencies()
    words = [w for w in tokenize(topic) if len(w) >= 2 and w not in GENERIC]
    words = [w for w in words if not any(w != o and o in w for o in words)]  # the pieces, not the compound
    rare = [w for w in words if df.get(w, 0) <= COMMON_SHARE * max(n, 1)]
    return rare or words


def _mention(asking: Asking, doc: DocumentRow, text: str, holds) -> Mention:
    count, first = 0, None
    at = 0
    for sentence in split_sentences(text):
        start = text.find(sentence, at)
        if start < 0:
            continue
        at = start + len(sentence)
        if holds(sentence):
            count += 1
            if first is None:
                first = (start, at)
    start, end = first or (0, 0)
    return Mention(doc, count, start, end, _section_at(asking.engine.sections(doc.doc_id), start))


def _section_at(sections: list[SectionRow], offset: int) -> SectionRow | None:
    holding = [s for s in sections if s.start <= offset < s.end]
    return max(holding, key=lambda s: len(s.path), default=sections[0] if sections else None)


def _spread(mentions: list[Mention], n: int) -> list[Mention]:
    """At most `n` points, one per year, the first and the last years always."""
    by_year: dict[int, Mention] = {}
    for m in mentions:
        by_year.setdefault(m.doc.year or 0, m)
    years = sorted(by_year)
    if len(years) > n:
        step = (len(years) - 1) / (n - 1)
        years = sorted({years[round(i * step)] for i in range(n)})
    return [by_year[y] for y in years]


def _label(m: Mention) -> str:
    year = f"{m.doc.year}年" if m.doc.year else ""
    return f"{year}《{m.doc.title}》" if year not in m.doc.title else f"《{m.doc.title}》"


def _lead(kind: str, topic: str, mentions: list[Mention], by_year: bool, by_place: bool) -> str:
    years = sorted({m.doc.year for m in mentions if m.doc.year})
    if kind == "first" and years:
        return f"最早在{years[0]}年提到“{topic}”（《{mentions[0].doc.title}》）。"
    if kind == "last" and years:
        return f"最近一次在{years[-1]}年提到“{topic}”（《{mentions[-1].doc.title}》）。"
    if by_year and years:
        return f"提到“{topic}”的有{len(years)}个年份：{'、'.join(map(str, years))}年。"
    if by_place:
        places = list(dict.fromkeys(m.doc.region for m in mentions if m.doc.region))
        if places:
            return f"提到“{topic}”的有{len(places)}个地区：{'、'.join(places)}。"
    titles = list(dict.fromkeys(f"《{m.doc.title}》" for m in mentions))
    return f"有{len(titles)}份文件提到“{topic}”：{'、'.join(titles[:MAX_POINTS])}{'等' if len(titles) > MAX_POINTS else ''}。"


def answer_catalogue(asking: Asking) -> Answer | None:
    """`有多少份政府工作报告`, `2023年有哪些工作要点`: the documents in scope themselves, counted and
    listed (oldest first), each cited by its first section."""
    docs = sorted(asking.placed.docs, key=lambda d: (d.year or 0, d.title))
    if not asking.placed.met:
        return Answer(asking.question, "not_found", kind="catalogue", scope=asking.scope_json(),
                      message=asking.placed.gap.split("。")[0] + "。" + (
                          f"最接近的是{asking.placed.substituted}。" if asking.placed.substituted else ""))
    if not docs or (asking.topic(_CATALOGUE) and not asking.scope):
        return None  # `有哪些文件讲了X` without a scope is a which-documents question
    shown, passages = docs[:MAX_POINTS], []
    for d in shown:
        sections = asking.engine.sections(d.doc_id)
        if sections:
            first = sections[0]
            text = asking.engine.document_text(d.doc_id)[first.start:first.end][:200]
            passages.append(section_result(d, first, text, first.start, first.end, rank=len(passages) + 1))
    points = [AnswerPoint(_label_doc(p), [p.rank]) for p in passages]
    what = asking.scope.describe() if asking.scope else "文件"
    more = f"（列出前{MAX_POINTS}份）" if len(docs) > MAX_POINTS else ""
    return asking.answer("catalogue", points=points, passages=passages, lead=f"索引中有{len(docs)}份{what}{more}：")


def _label_doc(p) -> str:
    where = " · ".join(str(x) for x in (p.year, p.region, p.doc_number) if x)
    return f"《{p.title}》" + (f"（{where}）" if where else "")


_CATALOGUE = re.compile(rf"(?:一共|总共|共)?(?:有|收录了?|包括)?(?:多少|几)(?:份|篇|个)(?:[\u4e00-\u9fff]{{0,6}}?){_COLLECTED}"
                        rf"|(?:有|收录了?|包括)哪些(?:年份的|年的)?(?:[\u4e00-\u9fff]{{0,6}}?){_COLLECTED}[？?]*$")
WHICH = Kind("which", _WHICH, answer_which)
CATALOGUE = Kind("catalogue", _CATALOGUE, answer_catalogue)
