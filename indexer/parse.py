"""Raw text → cleaned paragraphs → metadata and sections: one `ParsedDocument`."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .clean import clean_text
from .errors import UnreadableFile
from .metadata import extract_metadata
from .records import ParsedDocument
from .structure import parse_sections

_DATE_SUFFIX = re.compile(r"\s*[(（]\d{4}-\d{1,2}-\d{1,2}[)）]$")


def title_from_file_name(source: str) -> str:
    """`行政法规/个体工商户条例(2016-02-06).md` → `个体工商户条例`."""
    return _DATE_SUFFIX.sub("", PurePosixPath(source).stem) or PurePosixPath(source).stem


_ID_NAME = re.compile(r"[0-9a-fA-F_\-]{12,}|\d{6,}")
_CLAUSE_END = re.compile(r"[。！？!?；;]")


def opening_words(paragraph: str, limit: int = 40) -> str:
    """A title for a file that has none: a run-on headline's words before the first space
    (`全是干货！重庆税务十项举措为企业纾困解难 今（12）日…`), else the first sentence, cut at `limit`."""
    s = paragraph.strip().lstrip("# ")
    head = re.split(r"\s", s, maxsplit=1)[0]
    if 8 <= len(head) <= limit:
        return head
    m = _CLAUSE_END.search(s)
    first = s[: m.end()] if m else s
    return first if len(first) <= limit else first[:limit].rstrip() + "…"


def parse_text(raw: str, source: str) -> ParsedDocument:
    cleaned = clean_text(raw)
    if not any(ch.isalnum() for ch in cleaned.text):
        raise UnreadableFile("清洗后没有正文")
    paragraphs = cleaned.paragraphs
    meta = extract_metadata(paragraphs, cleaned.print_date, PurePosixPath(source).name, cleaned.front_title)
    if not meta.title:
        meta.title = title_from_file_name(source)
        if _ID_NAME.fullmatch(meta.title):  # `5e09fad8206c….txt` names nothing: the text's opening does
            meta.title = opening_words(paragraphs[0]) or meta.title
    sections = parse_sections(paragraphs)
    return ParsedDocument(source, cleaned.text, meta, sections, cleaned.removed)
