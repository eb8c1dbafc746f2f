"""Overviews and counts from a document's own headings: `…分为哪几个方面`, `主要内容`, `重点任务有哪些`
list the top-level headings (or the items under the heading the question names, `政府工作任务`);
`几个部分`, `多少条` count them and list what was counted. Each line cites its section."""

from __future__ import annotations

import re

from indexer.store import DocumentRow, SectionRow

from ...search.query import Filters
from ...search.results import section_result
from ..record import Answer, AnswerPoint
from .base import Asking, Kind

_OVERVIEW = re.compile(
    r"(?:分为|分成|包括|包含|有|涉及|是)?哪(?:几|些)(?:个|大)?(?:方面|部分|板块|块|领域)|主要内容|(?:有|包括)哪些内容|讲了(?:什么|哪些)"
    r"|(?:重点|主要)(?:任务|工作)(?:有哪些|是什么|包括)|(?:有|包括|提了|提出了?|部署了?|安排了?)哪些(?:重点|主要)?(?:任务|工作)"
    r"|概要|概况|提纲|框架|目录|结构")
# The part of a plan that holds its tasks, when the question asks for them (`主要任务有哪些`).
_TASKS = re.compile(r"任务|重点工作")
_COUNT = re.compile(r"(?<!哪)(?:几|多少)(?:个|项|条|大|点)?(?:部分|方面|板块|条|项|点|任务|领域|块)|一共(?:有|列了?|提了?|分)?(?:几|多少)")
# What a count counts: the numbered items (条, 项, 点) are the leaves; parts and aspects the first level.
_ITEMS = re.compile(r"(?:几|多少)(?:个)?(?:条|项|点|任务)")
PREAMBLE = "p"  # section keys of the text before the first heading (`p1`: 印发通知, 总体要求)
PASSAGE_CHARS = 300


def answer_overview(asking: Asking) -> Answer | None:
    return _answer(asking, _OVERVIEW, count=False)


def answer_count(asking: Asking) -> Answer | None:
    return _answer(asking, _COUNT, count=True)


def _answer(asking: Asking, pattern: re.Pattern, count: bool) -> Answer | None:
    doc = _document(asking)
    if doc is None:
        return None
    sections = asking.engine.sections(doc.doc_id)
    topic = asking.topic(pattern)
    parent = _named_section(sections, topic)
    if parent is None and _TASKS.search(asking.question):
        parent = _named_section(sections, _TASKS.search(asking.question).group())
    items = _children(sections, parent) if parent else _top_level(sections)
    if parent is None and not (_names_a_document(asking) and _about(asking, doc, topic)):
        return None  # `…支持哪些方面` of a passage, not of a document's structure
    if count and _ITEMS.search(asking.question) and not parent:
        items = _leaves(sections)
    if len(items) < 2:
        return None  # a document without headings: a look-up reads its text
    text = asking.engine.document_text(doc.doc_id)
    passages = [section_result(doc, s, _excerpt(text, s), s.start, s.end, rank=i)
                for i, s in enumerate(items, start=1)]
    points = [AnswerPoint(_line(s, sections, with_items=not count), [i]) for i, s in enumerate(items, start=1)]
    what = f"《{doc.title}》" + (f"的“{_bare(parent.path[-1])}”" if parent else "")
    unit = _unit(asking.question, parent)
    lead = (f"{what}共{len(items)}{unit}：" if count else f"{what}分为{len(items)}{unit}：")
    chosen = len(asking.placed.docs) > 1  # the question fits several: say which one was taken
    return asking.answer("count" if count else "overview", points=points, passages=passages, lead=lead,
                         gap=asking.placed.gap, understood=f"按《{doc.title}》理解" if chosen else "")


def _document(asking: Asking) -> DocumentRow | None:
    """The document the question is about: the only one in scope, else the one search ranks first
    for the question within the scope."""
    docs = asking.placed.docs
    if len(docs) == 1:
        return docs[0]
    if not asking.scope and not asking.placed.docs:
        return None
    results = asking.search(asking.question, asking.placed.filters(asking.filters), 1)
    if not results:
        return None
    return next((d for d in docs if d.doc_id == results[0].doc_id), None)


def _names_a_document(asking: Asking) -> bool:
    """The question is about a document as a whole: it names a kind of document (`工作要点`,
    `政府工作报告`) or its scope leaves one document."""
    return bool(asking.scope.kind_words) or (bool(asking.scope) and len(asking.placed.docs) == 1)


def _about(asking: Asking, doc: DocumentRow, topic: str) -> bool:
    """Whether the question is about this document as a whole: it names nothing else (the
    scope's words aside), or what it names is in the title, or search finds it in the document."""
    core = re.sub(r"(?:分为|分成|包括|包含|一共|共|有|的|是|文件|文档)", "", topic)
    if len(core) < 2 or core in doc.title:
        return True
    return bool(asking.search(asking.question, Filters(docs={doc.doc_id}), 1))


def _named_section(sections: list[SectionRow], topic: str) -> SectionRow | None:
    """The heading with children that holds the question's topic (`政府工作任务` in
    `三、2024年政府工作任务`), the shallowest first."""
    topic = re.sub(r"(?:分为|分成|包括|包含|一共|共|有|的|是)", "", topic)
    if len(topic) < 2:
        return None
    named = [s for s in sections if s.has_children and s.path and topic in _bare(s.path[-1])]
    return min(named, key=lambda s: len(s.path), default=None)


def _top_level(sections: list[SectionRow]) -> list[SectionRow]:
    return [s for s in sections if len(s.path) == 1 and not s.key.startswith(PREAMBLE)]


def _children(sections: list[SectionRow], parent: SectionRow) -> list[SectionRow]:
    return [s for s in sections if s.parent == parent.key]


def _leaves(sections: list[SectionRow]) -> list[SectionRow]:
    return [s for s in sections if not s.has_children and len(s.path) > 1 and not s.key.startswith(PREAMBLE)]


def _line(section: SectionRow, sections: list[SectionRow], with_items: bool) -> str:
    line = section.path[-1]
    items = _children(sections, section) if with_items else []
    if items:
        line += "（" + "；".join(_bare(s.path[-1]) for s in items) + "）"
    return line


def _unit(question: str, parent: SectionRow | None) -> str:
    m = re.search(r"(?:几|多少|哪些|哪几)(?:个|大)?(部分|方面|板块|条|项|点|领域)", question)
    if m:
        return {"条": "条", "项": "项", "点": "点"}.get(m.group(1), f"个{m.group(1)}")
    return "项" if parent is not None else "个方面"


_NUMBERING = re.compile(r"^\s*(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+[、.．]|\d+[、.．]|第[一二三四五六七八九十百\d]+[章节条部分])\s*")


def _bare(heading: str) -> str:
    return _NUMBERING.sub("", heading)


def _excerpt(text: str, section: SectionRow) -> str:
    body = text[section.start:section.end].strip()
    return body if len(body) <= PASSAGE_CHARS else body[:PASSAGE_CHARS] + "…"


OVERVIEW = Kind("overview", _OVERVIEW, answer_overview)
COUNT = Kind("count", _COUNT, answer_count)
