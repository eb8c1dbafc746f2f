"""The kinds of line a policy document is made of, shared by cleaning, structure and metadata: where a
heading starts (`一、`, `（一）`, `1.`, `第X条` …), and the lines of the title block above the body (the
issuing organisation, the document number, the title, the date) and how many of them there are.

Cleaning joins wrapped lines but never across a heading's start; structure skips the title block before
the first section; metadata reads its fields from it. The patterns live here, once.
"""

from __future__ import annotations

import re

from .textutil import ends_sentence

HEADING_START = re.compile(
    r"^(?:"
    r"#{1,6}\s"
    r"|第[一二三四五六七八九十百千零〇两\d]+\s*[编章节条]"
    r"|第[一二三四五六七八九十]+部分"
    r"|[一二三四五六七八九十百]+\s*[、.．]"
    r"|[（(]\s*[一二三四五六七八九十百]+\s*[)）]"
    r"|(?!(?:19|20)\d\d\s*[、.．])\d{1,5}\s*(?:[.．](?!\d)|、)"  # not a year (`2019、2020年…`)
    r"|[（(]\s*\d{1,5}\s*[)）]"
    r"|[①-⑳]"
    r"|[一二三四五六七八九十]{1,3}\s*$"  # a bare numeral on its own line (older reports)
    r")"
)
DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（]\s*(\d{4})\s*[〕\]］)）]\s*\d{1,4}\s*号")
DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
ORG_SUFFIX = (
    r"(?:委员会|人民政府|人民代表大会常务委员会|国务院|办公厅|办公室|教育局|教育厅|教育部|"
    r"工委|党委|党组|政府|局|厅|部|委)"
)
ORG_LINE = re.compile(rf"^(?P<org>[\u4e00-\u9fff（）()]{{2,40}}?{ORG_SUFFIX})\s*(?:文件)?$")
# Longest first, so that 工作要点 wins over 要点 and 实施意见 over 意见.
DOC_TYPES = (
    "工作要点", "实施意见", "指导意见", "实施细则", "实施办法", "实施方案", "行动计划", "工作报告",
    "要点", "通知", "意见", "决定", "决议", "办法", "细则", "规定", "条例", "规则", "方案", "计划",
    "规划", "报告", "纪要", "通报", "批复", "解释", "公告", "通告", "准则", "章程", "法",
)
TITLE_WORDS = re.compile("|".join(DOC_TYPES[:-1]) + r"|法$|^关于")
TITLE_SUFFIX = re.compile(r"[（(](?:试行|暂行|草案|修订|修正|摘要|\d{4}[^）)]*)[）)]$")


def is_short_line(p: str, limit: int = 80) -> bool:
    return len(p) <= limit and not ends_sentence(p)


def is_title_line(p: str) -> bool:
    body = TITLE_SUFFIX.sub("", p.lstrip("# ").strip())
    return is_short_line(p) and bool(TITLE_WORDS.search(body)) and "：" not in body


def classify_line(p: str) -> str:
    """What a line at the top is: docnum, date, org, title; note (a dated adoption or
    publication note: it ends the title block and opens the 题注); or '' (body)."""
    s = p.strip()
    if DOC_NUMBER.fullmatch(s):
        return "docnum"
    if DATE.fullmatch(s) or ISO_DATE.fullmatch(s):
        return "date"
    if DATE.match(s) and len(s) <= 80 and not ends_sentence(s):
        return "note"  # `2000年12月13日 最高人民法院公告公布`: an adoption note, not a title
    if s.startswith("# "):
        return "title"
    if ORG_LINE.match(s):
        return "org"
    if is_title_line(s):
        return "title"
    return ""


def title_block_length(paragraphs: list[str]) -> int:
    """How many leading paragraphs are title block (organisation, number, title, date)."""
    n = 0
    for p in paragraphs[:8]:
        if classify_line(p) in ("", "note"):
            break
        n += 1
    first = paragraphs[0] if paragraphs else ""
    if n == 0 and len(paragraphs) > 1 and not HEADING_START.match(first) and (
            is_short_line(first, 60) or _is_headline(first)):
        n = 1  # an untitled-looking first line above the body is still the document's title
    return n


def _is_headline(p: str) -> bool:
    """A news headline above its article: short, ending with ！ or ？ (`医疗物资供应怎么保障？…最新回应！`),
    not an address (`同志们！`)."""
    s = p.strip()
    return 8 <= len(s) <= 60 and s[-1] in "！？!?" and "。" not in s
