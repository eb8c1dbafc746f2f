"""Paragraph breaks lost in run-on text: headings found mid-line.

Notices copied from web pages often arrive as one line, their paragraph breaks turned into
spaces: `…提出以下要求。 一、支持疫情防控物资供应 对生产、销售…`. Without breaks the document
has no structure. A long paragraph is cut before a heading marker (`一、` `（一）` `1.` `（1）`
`第X条` `①`) that stands where a paragraph could begin: after a sentence end (`。二、`), after
white space (`　1.`), or after `；` / `：` when the item it opens holds a sentence of its own
(`；（三）…。`).

Body text that only looks like headings stays as it is: `一是…二是…` and `第一、` are no
markers; list items inside a sentence (`下列情形之一的：（一）…的；（二）…的；`) open no
sentence of their own; a decimal (`1.5倍`) is no number marker. Whether a cut-off marker is
really a heading is then decided by the structure parser's sequence check, as for any line.
"""

from __future__ import annotations

import re

from .structure import match_heading

LONG_PARAGRAPH = 80  # shorter paragraphs are left alone: their breaks are real
_CN = "一二三四五六七八九十百"
_MARKER = (rf"(?:[{_CN}]{{1,3}}\s*、"
           rf"|[（(]\s*[{_CN}]{{1,3}}\s*[)）]"
           r"|\d{1,3}\s*(?:[.．](?![\d.．])|、)"
           r"|[（(]\s*\d{1,3}\s*[)）]"
           rf"|第[{_CN}\d]{{1,5}}[章节条](?![件款项])"
           r"|[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])")
# What may stand right before a marker: a sentence end (with closing quotes), white space,
# or a semicolon or colon (then the item must hold a sentence of its own).
_CANDIDATE = re.compile(rf"(?P<before>[。！？!?][”’」』）)]*|[；;：:]|\s+)(?P<marker>{_MARKER})(?=\s*\S)")
_SENTENCE_END = re.compile(r"[。！？!?]")
_MIN_ITEM = 8  # characters an item needs after its marker to be more than a list entry


def split_run_on(paragraphs: list[str]) -> list[str]:
    out: list[str] = []
    for n, p in enumerate(paragraphs):
        out.extend(_split(p, opening=n == 0) if len(p) >= LONG_PARAGRAPH else [p])
    return out


_TITLE_GAP = re.compile(r"\s+(?=\S)")
_BREAK = re.compile(r"(?<=[。！？!?”’」』])\s+(?=\S)")  # white space after a sentence: a lost break
_MAX_TITLE = 40


def _split(paragraph: str, opening: bool = False) -> list[str]:
    cuts = set(m.end() for m in _BREAK.finditer(paragraph) if _sentence_before(paragraph, m.start()))
    if opening:
        cuts |= _leading_lines(paragraph)
    marks = list(_CANDIDATE.finditer(paragraph))
    first = match_heading(paragraph)
    accepted = {first.family: first.number} if first else {}  # family → number of its last marker
    for n, m in enumerate(marks):
        start = m.start("marker")
        end = marks[n + 1].start("marker") if n + 1 < len(marks) else len(paragraph)
        item = paragraph[m.end("marker"):end]
        heading = match_heading(paragraph[start:])
        if heading is None or len(item.strip()) < _MIN_ITEM:
            continue
        if m["before"][0] in "；;：:" and not _opens_items(heading, item, accepted):
            continue  # a list entry inside a sentence
        accepted[heading.family] = heading.number
        cuts.add(start)
        gap = _TITLE_GAP.search(item.lstrip(), 1)
        offset = m.end("marker") + len(item) - len(item.lstrip())
        if gap and gap.start() <= _MAX_TITLE and not re.search("[。！？；;，,：:]", item.lstrip()[:gap.start()]):
            cuts.add(offset + gap.end())  # `一、支持疫情防控物资供应 对生产…`: the title was its own line
    if not cuts:
        return [paragraph]
    pieces, at = [], 0
    for cut in sorted(cuts):
        pieces.append(paragraph[at:cut])
        at = cut
    pieces.append(paragraph[at:])
    return [p for p in (x.strip() for x in pieces) if p]


_SENTENCE_MARK = re.compile("[。！？；;!?]")
_MAX_LEADING = 3
_MAX_LEADING_CHARS = 80  # a notice's title can be long (`…关于做好…工作的通知`)


def _leading_lines(paragraph: str) -> set[int]:
    """A run-on document's first short pieces before white space were lines of their own: the
    headline of a news item (`重症病例“一人一方案”精细化诊疗 高级别专家组… 在昨天召开的…`),
    a notice's title, the issuing office. As lines they are found as the title."""
    cuts, at = set(), 0
    for gap in _TITLE_GAP.finditer(paragraph):
        piece = paragraph[at:gap.start()]
        if len(cuts) == _MAX_LEADING or not 2 <= len(piece) <= _MAX_LEADING_CHARS or _SENTENCE_MARK.search(piece):
            break
        cuts.add(gap.end())
        at = gap.end()
    return cuts


def _opens_items(heading, item: str, accepted: dict[str, int]) -> bool:
    """After `；` or `：` a marker opens an item only if it continues items already cut
    (`…。（二）…；（三）`), or, as the first of its kind, holds a sentence of its own
    (`如下：一、建立工作机制。…`). `下列情形之一的：（一）…的；（二）…的；` does neither."""
    if heading.family in accepted:
        return heading.number == accepted[heading.family] + 1
    return heading.number == 1 and bool(_SENTENCE_END.search(item))


def _sentence_before(text: str, at: int) -> bool:
    """A real sentence ends here: more than a few characters since the last break."""
    return len(text[:at].rstrip()) >= 4
