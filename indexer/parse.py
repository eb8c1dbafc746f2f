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


def parse_text(raw: str, source: str) -> ParsedDocument:
    cleaned = clean_text(raw)
    if not any(ch.isalnum() for ch in cleaned.text):
        raise UnreadableFile("清洗后没有正文")
    paragraphs = cleaned.paragraphs
    meta = extract_metadata(paragraphs, cleaned.print_date, PurePosixPath(source).name, cleaned.front_title)
    if not meta.title:
        meta.title = title_from_file_name(source)
    sections = parse_sections(paragraphs)
    return ParsedDocument(source, cleaned.text, meta, sections, cleaned.removed)
