"""Turn extracted text into clean paragraphs without losing a sentence of the body.

Handles the scars of PDF, Word and web extraction found in Chinese official
documents: hard line breaks, blank lines between every line, page numbers and
print footers, page breaks inside numbered items, Word bookmark markers,
web-page chrome, quotation marks displaced by PDF extraction and half-width
punctuation.

One module because the passes share one judgement of what a line is (its wrap width, whether it
ends a sentence, whether it is chrome) and their order matters: split apart, each would need the
others' private rules.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from .lines import HEADING_START
from .runon import split_run_on
from .textutil import (
    display_width,
    ends_sentence,
    fullwidth_alnum_to_ascii,
    is_cjk,
    is_cjk_punct,
    match_key,
)


@dataclass
class Cleaned:
    paragraphs: list[str]
    removed: list[str] = field(default_factory=list)  # chrome lines, for reports and tests
    print_date: str = ""  # from a `…印发` footer, ISO yyyy-mm-dd
    front_title: str = ""  # `title:` of a Markdown file's front matter

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


# --- characters -------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_BOOKMARK = re.compile(r"\[bookmark:[^\]\n]*\]")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def normalize_characters(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = text.replace("\u3000", " ").replace("\u00a0", " ").replace("\t", " ")
    text = _BOOKMARK.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    return fullwidth_alnum_to_ascii(text)


# --- chrome lines -----------------------------------------------------------

_DASHES = "-—–－~～_"
_PAGE_NUMBER = re.compile(
    rf"^[{_DASHES}]+\s*\d{{1,4}}\s*[{_DASHES}]+$"  # —4—, - 12 -
    r"|^第\s*\d{1,4}\s*页(?:\s*[,，/／]?\s*共\s*\d{1,4}\s*页)?$"  # 第3页 共9页
    r"|^\d{1,4}\s*/\s*\d{1,4}$"  # 3/9
)
_BARE_NUMBER = re.compile(r"^\d{1,3}$")
_PRINT_FOOTER = re.compile(
    r"^(?P<org>\S.{0,40}?)\s*(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日\s*印\s*发$"
)
# Lines a document-sharing site wraps around a document.
_WEB_CHROME = re.compile(
    r"^(?:VIP专免|VIP免费|VIP专享|免费下载|立即下载|下载文档|侵权投诉|举报|海报|收藏|分享|"
    r"展开>>|收起<<|展开全文|阅读全文|点击展开|打印本页|关闭窗口|【打印】|【关闭】|返回顶部|"
    r"上一篇[:：].*|下一篇[:：].*|标签[:：].*|摘要[:：]|分享到[:：]?.*|Public domain|false|true)$"
)
# Short numeric lines (views, file size, page count, upload date) next to a web title.
_WEB_HEADER_JUNK = re.compile(
    r"^(?:\d+\+?|\d+(?:\.\d+)?\s*[KMG]B|\d+\s*页|\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)$",
    re.I,
)
_HEADER_ZONE_LINES = 15


def _chrome_kind(line: str, index: int) -> str:
    s = line.strip()
    if not s:
        return ""
    if _PAGE_NUMBER.match(s):
        return "page"
    if _PRINT_FOOTER.match(s):
        return "footer"
    if _WEB_CHROME.match(s):
        return "web"
    if index < _HEADER_ZONE_LINES and _WEB_HEADER_JUNK.match(s):
        return "web"
    return ""


def _is_isolated(lines: list[str], i: int) -> bool:
    before = i == 0 or not lines[i - 1].strip()
    after = i == len(lines) - 1 or not lines[i + 1].strip()
    return before and after


def remove_chrome(lines: list[str]) -> tuple[list[str], list[str], str]:
    """Blank out chrome lines; return (lines, removed, print date)."""
    kept, removed, print_date = [], [], ""
    nonempty_seen = 0
    for i, line in enumerate(lines):
        kind = _chrome_kind(line, nonempty_seen)
        if not kind and _BARE_NUMBER.match(line.strip()) and _is_isolated(lines, i):
            kind = "page"
        if line.strip():
            nonempty_seen += 1
        if kind:
            removed.append(line.strip())
            footer = _PRINT_FOOTER.match(line.strip())
            if footer and not print_date:
                print_date = f"{footer['y']}-{int(footer['m']):02d}-{int(footer['d']):02d}"
            kept.append("")
        else:
            kept.append(line)
    return kept, removed, print_date


# Notices a web library appends to every document it hosts, often cut into lines by links.
_LICENSE_NOTICE = re.compile(
    r"^(?:本作品(?:是|在|来自).{0,200}?(?:公有领域|版权)[^。]*。?|注：中文维基文库社群认为.{0,80}?。|Public domain)$", re.I
)
_LICENSE_START = ("本作品", "注：中文维基文库")


def drop_license_notices(lines: list[str]) -> tuple[list[str], list[str]]:
    """Blank out licence notices near the end, however the links split them into lines."""
    removed: list[str] = []
    nonempty = [i for i, line in enumerate(lines) if line.strip()]
    for i in nonempty[-60:]:
        if not lines[i].strip().startswith(_LICENSE_START):
            continue
        for j in nonempty[nonempty.index(i):nonempty.index(i) + 16]:
            block = "".join(lines[k].strip() for k in range(i, j + 1))
            if _LICENSE_NOTICE.match(block):
                while j + 1 < len(lines) and lines[j + 1].strip() in ("。", ".", ""):
                    j += 1  # the full stop a link left on a line of its own
                removed.append(block)
                for k in range(i, j + 1):
                    lines[k] = ""
                break
    return lines, removed


_ELLIPSIS_END = re.compile(r"(?:\.{3,}|…+)\s*$")


def drop_truncated_duplicate(lines: list[str]) -> tuple[list[str], list[str]]:
    """A web page often repeats the document's opening, cut off with `...`, at its end."""
    idx = [i for i, line in enumerate(lines) if line.strip()]
    removed: list[str] = []
    for i in reversed(idx[-3:]):
        line = lines[i].strip()
        if not _ELLIPSIS_END.search(line):
            continue
        key = match_key(_ELLIPSIS_END.sub("", line))
        body = match_key("".join(lines[:i]))
        if len(key) < 20:
            continue
        pos = body.find(key[:20])
        if pos < 0:
            continue
        ratio = difflib.SequenceMatcher(None, key, body[pos:pos + len(key)], autojunk=False).ratio()
        if ratio >= 0.9:
            removed.append(line)
            lines = lines[:i] + [""] + lines[i + 1:]
    return lines, removed


# --- quotation marks displaced by PDF extraction -----------------------------

_QUOTE_CLUSTER = re.compile(r"[“”](?:[ \t]*[“”])*")
_GAP = re.compile(r"[ \t]+")


def fix_displaced_quotes(line: str, single: bool = True) -> str:
    """Put back quotes that a PDF extractor moved to the front of the line.

    `“ ” “ ”捍卫 两个确立 、坚决做到 两个维护 推动` has lost its quotes to a
    cluster; the spaces left behind mark where they belong, in order:
    `捍卫“两个确立”、坚决做到“两个维护”推动`. A lone quote at the start of a line
    (`“第一百二十条之二 有下列…`) is only treated so when `single` is set, for the
    hard-wrapped text of a PDF: elsewhere it is a quotation that opens there.
    """
    clusters = list(_QUOTE_CLUSTER.finditer(line))
    if len(clusters) != 1:
        return line
    m = clusters[0]
    groups = m.group().split()
    at_gap = m.start() == 0 or line[m.start() - 1] in " \t"
    if len(groups) < 2 and not (single and at_gap):
        return line
    prefix, rest = line[:m.start()], line[m.end():]
    gaps = list(_GAP.finditer(rest))
    if not gaps:
        return line
    if len(gaps) != len(groups):
        gaps = [g for g in gaps if not _touches_digit(rest, g)]
    if len(gaps) != len(groups):
        return prefix + rest  # cannot place them: drop the stray marks, keep every word
    out, last = [], 0
    for gap, quote in zip(gaps, groups):
        out.append(rest[last:gap.start()])
        out.append(quote)
        last = gap.end()
    out.append(rest[last:])
    return prefix + "".join(out)


def _touches_digit(text: str, gap: re.Match) -> bool:
    before = text[gap.start() - 1] if gap.start() > 0 else ""
    after = text[gap.end()] if gap.end() < len(text) else ""
    return before.isdigit() or after.isdigit()


# --- line joining -----------------------------------------------------------

_BLOCK_LINE = re.compile(
    r"^(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|\S{0,15}[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*\d+\s*号"
    r"|附\s*件\s*\d*[:：]?.{0,40}"
    r")$"
)
_CONTINUES = set("，、,（(《“‘—-·/")
# A paragraph cannot end on a particle or preposition, nor start with a comma.
_DANGLING_END = set("的是和与及或在对把被将从向为以")
_CONTINUATION_START = set("、，,。；;：:）)》”’")
_TITLE_TAIL = re.compile(r"^(?:通知|决定|意见|通报|报告|请示|批复|函|公告|通告|决议|纪要)$")


def wrap_width(lines: list[str]) -> float | None:
    """The line width of a hard-wrapped (PDF) text, or None if lines are paragraphs."""
    widths = sorted(display_width(s) for s in (line.strip() for line in lines) if s)
    if len(widths) < 8:
        return None
    w = widths[int(len(widths) * 0.8)]
    if w > 60:
        return None
    near = sum(1 for x in widths if 0.85 * w <= x <= 1.1 * w)
    return w if near >= 0.5 * len(widths) else None


def _join_pair(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    return a + b


def _is_heading_line(line: str) -> bool:
    """A numbered heading standing alone: no sentence inside it, nothing left hanging."""
    if not HEADING_START.match(line) or line[-1] in _CONTINUES:
        return False
    return not any(ch in "。！？；" for ch in line)


def blank_line_paragraphs(lines: list[str]) -> bool:
    """Whether paragraphs are separated by blank lines, so a bare newline is a soft break."""
    gaps = blanks = 0
    seen, blank_before = False, False
    for line in lines:
        if not line.strip():
            blank_before = True
            continue
        if seen:
            gaps += 1
            blanks += blank_before
        seen, blank_before = True, False
    return gaps >= 5 and blanks >= 0.6 * gaps and blanks < gaps


def _should_join(current: list[str], nxt: str, wrap: float | None, soft_break: bool = False) -> bool:
    text = "".join(current)
    last = current[-1]
    if _TITLE_TAIL.match(nxt) and text.startswith("关于") and text.endswith("的"):
        return True
    if ends_sentence(text) or HEADING_START.match(nxt):
        return False
    if nxt[0] in _CONTINUATION_START:
        return True
    if _BLOCK_LINE.match(nxt) or _BLOCK_LINE.match(text):
        return False
    full = wrap is not None and display_width(last) >= 0.85 * wrap
    if len(current) == 1 and _is_heading_line(last):
        # A heading on its own line ends there unless it fills the line and wraps.
        return wrap is not None and display_width(last) >= wrap - 1
    if text[-1] in "：:":
        return full
    if text[-1] in _CONTINUES or text[-1] in _DANGLING_END:
        return True
    if wrap is not None:
        return full
    return soft_break or display_width(text) >= 30


def assemble_paragraphs(lines: list[str]) -> list[str]:
    wrap = wrap_width(lines)
    soft_newlines = wrap is None and blank_line_paragraphs(lines)
    paragraphs: list[str] = []
    current: list[str] = []
    blank_before = False
    for raw in lines:
        line = raw.strip()
        if not line:
            blank_before = True
            continue
        soft_break, blank_before = soft_newlines and not blank_before, False
        if current and _should_join(current, line, wrap, soft_break):
            current.append(line)
            continue
        if current:
            paragraphs.append(_merge(current))
        current = [line]
    if current:
        paragraphs.append(_merge(current))
    return paragraphs


def _merge(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        text = _join_pair(text, line)
    return text


# --- punctuation and spacing --------------------------------------------------

def _cjkish(ch: str) -> bool:
    return bool(ch) and (is_cjk(ch) or is_cjk_punct(ch))


_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_PAREN = re.compile(r"\(([^()\n]{1,60})\)")


def normalize_punctuation(text: str) -> str:
    chars = list(text)
    n = len(chars)
    for i, ch in enumerate(chars):
        prev = chars[i - 1] if i > 0 else ""
        nxt = chars[i + 1] if i + 1 < n else ""
        if ch in _HALF_TO_FULL:
            if ch == "," and prev.isdigit() and nxt.isdigit():
                continue
            if ch == ":" and not _cjkish(prev):
                continue
            if _cjkish(prev) or (ch in ",;" and _cjkish(nxt)):
                chars[i] = _HALF_TO_FULL[ch]
        elif ch == "." and is_cjk(prev) and (not nxt or nxt in " ”’）" or is_cjk(nxt)):
            chars[i] = "。"
    text = "".join(chars)
    return _PAREN.sub(_full_parens, text)


def _full_parens(m: re.Match) -> str:
    inner = m.group(1)
    s, e = m.start(), m.end()
    text = m.string
    outside = (text[s - 1] if s else "") + (text[e] if e < len(text) else "")
    if any(is_cjk(c) for c in inner) or any(is_cjk(c) for c in outside):
        return f"（{inner}）"
    return m.group()


_SPACE_RUN = re.compile(r"[ \t]+")


def normalize_spaces(text: str) -> str:
    text = _SPACE_RUN.sub(" ", text).strip()
    out = []
    for i, ch in enumerate(text):
        if ch == " ":
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            # Keep spaces between Latin words and between two CJK words (`学宪法 讲宪法`);
            # drop those PDF and web extraction put around digits and punctuation.
            if is_cjk_punct(prev) or is_cjk_punct(nxt):
                continue
            if (is_cjk(prev) and nxt.isascii()) or (prev.isascii() and is_cjk(nxt)):
                continue
        out.append(ch)
    return "".join(out)


_MD_HEADING = re.compile(r"^(#{1,6}) +")


def normalize_paragraph(text: str) -> str:
    m = _MD_HEADING.match(text)
    marker = m.group(1) + " " if m else ""
    return marker + normalize_spaces(normalize_punctuation(text[m.end():] if m else text))





# --- the whole pass -----------------------------------------------------------

_FRONT_FENCE = re.compile(r"^(?:---|\+\+\+)\s*$")
_FRONT_FIELD = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*[:=]\s*(.*?)\s*$")


def strip_front_matter(lines: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """A Markdown file's front matter (`---` / `key: value` lines / `---` at the top, as static
    site generators write it) is about the file, not its text: taken out, its fields kept."""
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or not _FRONT_FENCE.match(lines[start]):
        return lines, [], {}
    for end in range(start + 1, min(len(lines), start + 40)):
        if _FRONT_FENCE.match(lines[end]):
            fields = [_FRONT_FIELD.match(line) for line in lines[start + 1:end] if line.strip()]
            if not all(fields):
                return lines, [], {}
            values = {m[1].lower(): m[2].strip("\"'") for m in fields}
            return lines[end + 1:], [line for line in lines[start:end + 1] if line.strip()], values
    return lines, [], {}


def clean_text(raw: str) -> Cleaned:
    text = normalize_characters(raw)
    lines, front, fields = strip_front_matter(text.split("\n"))
    lines, removed, print_date = remove_chrome(lines)
    removed = front + removed
    lines, dup = drop_truncated_duplicate(lines)
    removed += dup
    lines, notices = drop_license_notices(lines)
    removed += notices
    pdf_like = wrap_width(lines) is not None
    lines = [fix_displaced_quotes(line, single=pdf_like) for line in lines]
    paragraphs: list[str] = []
    for p in (normalize_paragraph(p) for p in split_run_on(assemble_paragraphs(lines))):
        if _LICENSE_NOTICE.match(p):
            removed.append(p)
        elif p and paragraphs and p == paragraphs[-1] and len(p) <= 60:
            removed.append(p)  # a title repeated by a web page above the document's own
        elif p:
            paragraphs.append(p)
    return Cleaned(paragraphs, removed, print_date, fields.get("title", ""))
