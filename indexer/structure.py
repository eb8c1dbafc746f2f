"""The heading hierarchy of a Chinese official document, as a list of sections.

Recognises `一、` `（一）` `1.` `1．` `1、` `（1）` `①`, `第X编/章/节/条`, `第X部分` and
Markdown `#` headings, on their own line or inline (`1.切实提高政治站位。正文…`).
A numbered line counts as a heading only when its number continues the
sequence of its kind, so a body sentence that happens to start with `3、` or a
law's `（一）` list items do not split sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lines import is_title_line, title_block_length
from .records import Section
from .textutil import CIRCLED, cn_to_int

_CN = "一二三四五六七八九十百千零〇两"
_PATTERNS = [
    # (family, regex); a family listed with a fixed rank below is structural (laws, parts).
    ("md", re.compile(r"^(?P<label>#{1,6})\s+(?P<rest>.*)$")),
    ("bian", re.compile(rf"^(?P<label>第(?P<n>[{_CN}\d]+)编)\s*(?P<rest>.*)$")),
    ("part", re.compile(rf"^(?P<label>第(?P<n>[{_CN}\d]+)部分)\s*(?P<rest>.*)$")),
    ("zhang", re.compile(rf"^(?P<label>第(?P<n>[{_CN}\d]+)章)\s*(?P<rest>.*)$")),
    ("jie", re.compile(rf"^(?P<label>第(?P<n>[{_CN}\d]+)节)\s*(?P<rest>.*)$")),
    ("tiao", re.compile(rf"^(?P<label>第(?P<n>[{_CN}\d]+)条(?:之[{_CN}]+)?)\s*(?P<rest>.*)$")),
    ("cn", re.compile(rf"^(?P<label>(?P<n>[{_CN}]+)\s*[、.．])\s*(?P<rest>.*)$")),
    ("cn", re.compile(r"^(?P<label>(?P<n>[一二三四五六七八九十]{1,3}))\s*(?P<rest>)$")),  # 一 alone on a line
    ("cn_paren", re.compile(rf"^(?P<label>[（(]\s*(?P<n>[{_CN}]+)\s*[)）])\s*(?P<rest>.*)$")),
    ("num", re.compile(r"^(?P<label>(?P<n>\d{1,5})\s*(?:[.．](?!\d)|、))\s*(?P<rest>.*)$")),
    ("num_paren", re.compile(r"^(?P<label>[（(]\s*(?P<n>\d{1,5})\s*[)）])\s*(?P<rest>.*)$")),
    ("circled", re.compile(rf"^(?P<label>(?P<n>[{CIRCLED}]))\s*(?P<rest>.*)$")),
]
_RANK = {"bian": 10, "part": 15, "zhang": 20, "jie": 30, "tiao": 40,
         "cn": 100, "cn_paren": 110, "num": 120, "num_paren": 130, "circled": 140}
_LIST_FAMILIES = ("cn", "cn_paren", "num", "num_paren", "circled")
_TITLE_END = re.compile(r"[。！？]")
_MAX_INLINE_TITLE = 60
OPENING_LABEL = "总体要求"


@dataclass
class Heading:
    family: str
    number: int
    label: str  # the number as written, without spaces: 三、 7. （一） 第十条
    title: str  # heading text after the number ('' for a bare 第十条)
    rank: int

    @property
    def text(self) -> str:
        if not self.title:
            return self.label
        sep = " " if self.family in ("bian", "part", "zhang", "jie") else ""
        return f"{self.label}{sep}{self.title}" if self.family != "md" else self.title


def _number(family: str, raw: str | None) -> int:
    if family == "md" or raw is None:
        return 0
    if family == "circled":
        return CIRCLED.index(raw) + 1
    value = cn_to_int(raw)
    return value if value is not None else -1


def match_heading(paragraph: str) -> Heading | None:
    """The heading a paragraph starts with, before any check of its number."""
    for family, pattern in _PATTERNS:
        m = pattern.match(paragraph)
        if not m:
            continue
        rest = m.group("rest").strip()
        if family == "md":
            level = len(m.group("label"))
            inner = match_heading(rest)
            if inner and inner.family in ("bian", "part", "zhang", "jie", "tiao"):
                return inner
            return Heading("md", 0, "", rest, level * 10 - 5)
        number = _number(family, m.groupdict().get("n"))
        if number < 0:
            return None
        label = re.sub(r"\s+", "", m.group("label"))
        title = "" if family == "tiao" else _inline_title(rest, family)
        return Heading(family, number, label, title, _RANK[family])
    return None


def _inline_title(rest: str, family: str) -> str:
    """`切实提高政治站位。正文…` → `切实提高政治站位`; a short line is all title."""
    if family in ("bian", "part", "zhang", "jie"):
        return rest
    m = _TITLE_END.search(rest)
    if m and m.start() <= _MAX_INLINE_TITLE:
        return rest[:m.start()]
    colon = rest.find("：")
    if 0 < colon <= 20:
        return rest[:colon]
    if len(rest) <= _MAX_INLINE_TITLE:
        return rest.rstrip("；;，,")
    clause = re.split("[，；：,;]", rest, maxsplit=1)[0]
    return clause if len(clause) <= 30 else clause[:30] + "…"


class _Outline:
    """The open headings, deepest last, and the sequence check for new ones."""

    def __init__(self, law_like: bool):
        self.stack: list[tuple[Heading, Section]] = []
        self.last_number: dict[str, int] = {}
        self.law_like = law_like

    def accepts(self, h: Heading, next_same: int | None = None) -> bool:
        """`next_same`: the number of the next candidate heading of the same kind. When
        the numbering goes on after it, it vouches for a number that skips a few (items
        deleted or lost): `2.` followed by `3.` is a heading even when `1.` is missing."""
        if h.family == "md":
            return True
        if self.law_like and h.family in _LIST_FAMILIES:
            return False  # a law's （一） items belong to their article
        last = self.last_number.get(h.family)
        if h.family == "tiao":
            if last is None:
                return h.number == 1 or self.law_like
            # Laws insert 第X条之一 and leave gaps where articles were repealed.
            return last < h.number <= last + 5 or (h.number == last and "之" in h.label)
        open_same = [x for x, _ in self.stack if x.family == h.family]
        expected = [open_same[-1].number + 1] if open_same else [1] + ([last + 1] if last is not None else [])
        if h.number in expected:
            return True
        skipped = min((h.number - e for e in expected if h.number > e), default=0)
        return 0 < skipped <= 3 and next_same is not None and h.number < next_same <= h.number + 3

    def push(self, h: Heading, section: Section) -> None:
        while self.stack and self.stack[-1][0].rank >= h.rank:
            self.stack.pop()
        if self.stack:
            parent = self.stack[-1][1]
            section.parent = parent.key
            parent.has_children = True
        self.stack.append((h, section))
        self.last_number[h.family] = h.number
        section.path = [x.text for x, _ in self.stack]

    def numbers(self) -> list[str]:
        return [str(x.number) if x.family != "md" else "h" for x, _ in self.stack]


def _offsets(paragraphs: list[str]) -> list[int]:
    starts, pos = [], 0
    for p in paragraphs:
        starts.append(pos)
        pos += len(p) + 1
    return starts


def parse_sections(paragraphs: list[str]) -> list[Section]:
    """Sections of a cleaned document; offsets refer to `"\\n".join(paragraphs)`."""
    if not paragraphs:
        return []
    starts = _offsets(paragraphs)
    text_end = starts[-1] + len(paragraphs[-1])
    law_like = sum(1 for p in paragraphs if _TIAO_START.match(p)) >= 3
    outline = _Outline(law_like)
    block = title_block_length(paragraphs)
    found: list[tuple[int, Section]] = []
    keys: set[str] = set()
    candidates = [(i, match_heading(paragraphs[i])) for i in range(block, len(paragraphs))]
    candidates = [(i, h) for i, h in candidates if h]
    for n, (i, h) in enumerate(candidates):
        next_same = next((g.number for _, g in candidates[n + 1:] if g.family == h.family), None)
        if not outline.accepts(h, next_same):
            continue
        section = Section("", [], starts[i], 0)
        outline.push(h, section)
        section.key = _unique(".".join(outline.numbers()), keys)
        found.append((i, section))
    if not found:
        found = _plain_headings(paragraphs, starts, block, keys)
    for n, (_, section) in enumerate(found):
        nxt = found[n + 1][0] if n + 1 < len(found) else None
        section.end = starts[nxt] - 1 if nxt is not None else text_end
    first = found[0][0] if found else len(paragraphs)
    sections = _opening_sections(paragraphs, starts, block, first) + [s for _, s in found]
    if not sections and text_end > 0:  # all title block (a one-line notice): still one searchable section
        sections = [Section("p1", ["全文"], 0, text_end)]
    return sections


_SENTENCE_MARK = re.compile(r"[。！？；：:!?;]")


def _plain_headings(paragraphs: list[str], starts: list[int], block: int, keys: set[str]) -> list[tuple[int, Section]]:
    """Headings without numbers, for documents that have no numbered ones: short lines
    without sentence punctuation, each followed by a long paragraph (older reports,
    pages saved from the web)."""
    picked = []
    for i in range(block, len(paragraphs) - 1):
        p, nxt = paragraphs[i], paragraphs[i + 1]
        if 4 <= len(p) <= 30 and not _SENTENCE_MARK.search(p) and len(nxt) > 40 and not p.startswith("#"):
            picked.append(i)
    if len(picked) < 2:
        return []
    found = []
    for n, i in enumerate(picked, start=1):
        section = Section(_unique(str(n), keys), [paragraphs[i]], starts[i], 0)
        found.append((i, section))
    return found


_TIAO_START = re.compile(rf"^(?:#+\s*)?第[{_CN}\d]+条")


def _unique(key: str, seen: set[str]) -> str:
    candidate, n = key, 1
    while candidate in seen:
        n += 1
        candidate = f"{key}~{n}"
    seen.add(candidate)
    return candidate


def opening_label(text: str) -> str:
    if re.search(r"总体要求|总体思路|工作要求|指导思想|总体目标", text):
        return "总体要求"
    if re.search(r"\d{4}年\d{1,2}月\d{1,2}日.{0,40}(?:通过|公布|修正|修订|施行)", text):
        return "题注"
    return "导言"


def _opening_sections(paragraphs: list[str], starts: list[int], block: int, first_heading: int) -> list[Section]:
    """Text before the first heading, minus the title block: a cover letter and the opening.

    A notice that issues a plan (`关于印发《…工作要点》的通知`) carries its own
    letter, then the plan's title, then the plan's opening (总体要求).
    """
    body = list(range(block, first_heading))
    title_at = [i for i in body if is_title_line(paragraphs[i]) and len(paragraphs[i]) <= 40]
    groups: list[tuple[str, list[int]]] = []
    if title_at:  # the plan's own title opens the plan; with nothing after it, it closes the letter
        cut = title_at[-1]
        after = [i for i in body if i > cut]
        groups.append(("印发通知", [i for i in body if i < cut or (i == cut and not after)]))
        groups.append(("", [cut, *after] if after else []))
    else:
        groups.append(("", body))
    sections = []
    for label, idx in groups:
        if not idx:
            continue
        start, end = starts[idx[0]], starts[idx[-1]] + len(paragraphs[idx[-1]])
        label = label or opening_label("\n".join(paragraphs[i] for i in idx))
        sections.append(Section(f"p{len(sections) + 1}", [label], start, end))
    return sections
