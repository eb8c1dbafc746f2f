"""Document metadata from the title block of a Chinese official document.

Title, issuing organisation, document number, date, year, region and type are
read from what the document says; a field the text does not give stays empty.
"""

from __future__ import annotations

import re
from collections import Counter

from .lines import (
    DATE,
    DOC_NUMBER,
    DOC_TYPES,
    ISO_DATE,
    ORG_LINE,
    ORG_SUFFIX,
    TITLE_SUFFIX,
    classify_line,
    title_block_length,
)
from .records import DocMeta

YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年")
# A speech or report dated in its subtitle: `——2023年3月5日在第十四届全国人民代表大会第一次会议上`
SUBTITLE_DATE = re.compile(r"^[—－-]{1,2}\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# The year a file name leads with or names (`2023-金坛区…`, `2023年…报告`): the last resort
YEAR_IN_FILE_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|[-_.\s])")
ORG_IN_TITLE = re.compile(
    rf"^(?:(?:19|20)\d{{2}}年)?(?P<org>[\u4e00-\u9fff]{{2,30}}?{ORG_SUFFIX})"
    r"(?=(?:19|20)\d{2}|关于|[\u4e00-\u9fff]{0,12}(?:工作要点|要点|报告|通知|意见|决定|决议|办法))"
)
_REGION_STOP = set("全本我各该市城社园景校学片辖新地特治自行政专小大分军战省县区街")


_NOTICE_OF = re.compile(r"^(?:[\u4e00-\u9fff]{2,30}?)?关于印发[《〈](?P<inner>.+?)[》〉]的?(?:通知)?$")


def _pick_title(lines: list[str]) -> str:
    titles = [p.lstrip("# ").strip() for p in lines if classify_line(p) == "title"]
    if not titles:
        return ""
    for t in titles:
        m = _NOTICE_OF.match(t)
        if m:
            return m["inner"]  # a notice that issues a plan: the plan is the document
    # A line that names a kind of document (`…政府工作报告`, `…工作要点`) outranks a later short line that
    # names none: a report's first section (`首先报告２００１年的工作`, `关于国内建设`) after `各位代表：`.
    typed = [t for t in titles if _names_a_kind(t)]
    if typed and not _names_a_kind(titles[-1]):
        titles = titles[: titles.index(typed[-1]) + 1]
    at = len(titles) - 1
    if at > 0 and titles[at - 1].startswith("关于") and not _names_a_kind(titles[at - 1]) \
            and not titles[at].startswith("关于"):
        return titles[at - 1] + titles[at]  # one title over two lines: `关于加强…` `支持…的通知`
    last = titles[-1]
    # `2023年中华人民共和国国务院政府工作报告` above `政府工作报告`: the fuller name of the same document
    fuller = [t for t in titles[:-1] if last in t and len(t) > len(last)]
    return fuller[0] if fuller else last


def _names_a_kind(title: str) -> bool:
    base = TITLE_SUFFIX.sub("", title).strip()
    return any(base.endswith(t) for t in DOC_TYPES)


def _doc_type(title: str) -> str:
    base = TITLE_SUFFIX.sub("", title).strip()
    for t in DOC_TYPES:
        if base.endswith(t):
            return t
    for t in DOC_TYPES[:-1]:
        if t in base:
            return t
    return ""


def _iso(m: re.Match) -> str:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return ""
    return f"{y:04d}-{mo:02d}-{d:02d}"


_REGION = re.compile(r"([\u4e00-\u9fff]{1,4}|X)([区县])(?![域间块别分位])")


def _region_candidates(text: str) -> list[str]:
    """Districts and counties named in a text: 金坛区, 宝山区 (from 上海市宝山区), X区."""
    found = []
    for m in _REGION.finditer(text):
        name = re.split("[省市州共]", m.group(1))[-1]
        at_start = m.start() == 0 and len(name) == 1 and name not in _REGION_STOP  # 甲区教育局…
        if name == "X" or at_start:
            found.append(name + m.group(2))
        elif (len(name) >= 2 and name[-1] not in _REGION_STOP) or (len(name) >= 3 and name[-1] == "新"):
            place = _place_name(text, m.end(), name + m.group(2))
            if place:
                found.append(place)
    return found


def _place_name(text: str, end: int, name: str) -> str:
    """The place that `name` (a `…区`/`…县` ending at `end` in `text`) names, by jieba's reading
    of the words around it: none when 区/县 begins another word (`区外`, `和县级`) or follows a
    verb or a function word (`关于县`); the whole word when jieba knows one (`印发顺义区` →
    顺义区); none when a common noun of that form ends it (`隔离区`, `自然保护区`, `出口加工区`)."""
    from .tokenize import part_of_speech, word_tag

    at = max(0, end - 12)
    before = ("", "")
    for word, flag in part_of_speech(text[at:end + 6], guess=False):
        if at + len(word) >= end:
            break
        at += len(word)
        before = (word, flag)
    if at + len(word) > end:
        return ""
    if len(word) >= 3:
        name = word
    elif len(word) == 1 and before[1][:1] in _NOT_A_NAME and (len(before[0]) > 1 or before[1][:1] != "v"):
        return ""
    if word_tag(name)[:2] in ("ns", "nr"):
        return name
    tails = (word_tag(name[-k:]) for k in range(2, len(name) + 1))
    return "" if any(t and t[:2] not in ("ns", "nr") for t in tails) else name


# jieba's tags of words that do not end a place's name: verbs (of two characters or more: 经开区
# is cut 经/开/区), prepositions, conjunctions, adverbs, particles, pronouns.
_NOT_A_NAME = set("vpcdur")


_REGION_IN_BODY = re.compile(r"(?<=[《“省市])([\u4e00-\u9fff]{2,3}|X)([区县])(?![域间块别分位])")
_PLACE_BEFORE_EDU = re.compile(r"^(?:(?:19|20)\d{2}年)?([\u4e00-\u9fff]{2,3}?)(?:教育|区委|县委)")


def _region(title: str, org: str, body: str) -> str:
    for text in (title, org):
        found = _region_candidates(text)
        if found:
            return found[0]
    m = _PLACE_BEFORE_EDU.match(title)
    if m and m.group(1)[-1] in "区县市":
        return m.group(1)
    if m:
        level = Counter(re.findall(r"(?:全|我|本)([区县市])", body)).most_common(1)
        if level and level[0][0] in "区县":
            return m.group(1) + level[0][0]
    if re.search(r"(?:^|[^\u4e00-\u9fff])[区县](?:教育|委|人民政府|政府)", title + " " + org):
        # The title names no place (`区教育局…`): take one the body names unambiguously,
        # after a city or at the start of a quoted name (`《X区教育系统…》`).
        counts = Counter(m.group(1) + m.group(2) for m in _REGION_IN_BODY.finditer(body))
        if counts:
            return counts.most_common(1)[0][0]
    return ""


_MD_TITLE = re.compile(r"^#\s+(\S.*)$")  # one `#`: the document's own title


def markdown_title(paragraphs: list[str]) -> str:
    """A Markdown document's `# 标题` at its top. Consecutive ones name a code and its part
    (`# 中华人民共和国民法典` `# 合同编` → `中华人民共和国民法典 合同编`)."""
    parts = []
    for p in paragraphs[:3]:
        m = _MD_TITLE.match(p)
        if not m:
            break
        parts.append(m[1].strip())
    return " ".join(parts)


def extract_metadata(paragraphs: list[str], print_date: str = "", file_name: str = "",
                     declared_title: str = "") -> DocMeta:
    """`declared_title`: a title the file states outside its text (front matter)."""
    head = paragraphs[:12]
    meta = DocMeta()
    block = title_block_length(paragraphs)
    # A title is looked for in the title block and, for notices that issue a plan,
    # in the short lines before the first heading. A title the file declares (front matter,
    # a Markdown `# 标题`) is better evidence than any line that merely looks like one.
    # (a line with clauses there is the body's first sentence: `现在，我代表国务院，…并请…提出意见`)
    candidates = paragraphs[:block] + [p for p in head[block:] if classify_line(p) == "title" and "，" not in p]
    meta.title = (markdown_title(paragraphs) or declared_title or _pick_title(candidates)
                  or (paragraphs[0].lstrip("# ").strip() if block else ""))
    for p in head:
        kind = classify_line(p)
        if kind == "org" and not meta.org:
            meta.org = ORG_LINE.match(p.strip())["org"]
        m = DOC_NUMBER.search(p)
        if m and not meta.doc_number and len(p) <= 40:
            meta.doc_number = m.group().replace(" ", "")
    if not meta.org:
        m = ORG_IN_TITLE.match(meta.title)
        if m:
            meta.org = m["org"]
    meta.date = _find_date(head, print_date, file_name)
    meta.year = _year(meta) or _file_name_year(file_name)
    meta.region = _region(meta.title, meta.org, "\n".join(paragraphs[:60]))
    meta.doc_type = _doc_type(meta.title)
    return meta


def _find_date(head: list[str], print_date: str, file_name: str) -> str:
    for p in head:
        if classify_line(p) == "date":
            m = DATE.fullmatch(p.strip()) or ISO_DATE.fullmatch(p.strip())
            if m and _iso(m):
                return _iso(m)
    for p in head:
        m = SUBTITLE_DATE.match(p.strip())
        if m and _iso(m):
            return _iso(m)
    if print_date:
        return print_date
    m = re.search(r"[(（](\d{4})-(\d{1,2})-(\d{1,2})[)）]", file_name)
    return _iso(m) if m else ""


def _file_name_year(file_name: str) -> int | None:
    m = YEAR_IN_FILE_NAME.search(file_name)
    return int(m.group(1)) if m else None


def _year(meta: DocMeta) -> int | None:
    m = YEAR_IN_TITLE.search(meta.title)
    if m:
        return int(m.group(1))
    m = DOC_NUMBER.search(meta.doc_number)
    if m:
        return int(m.group(1))
    if meta.date:
        return int(meta.date[:4])
    return None
