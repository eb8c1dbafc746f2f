"""Raw text → cleaned paragraphs → metadata and sections: one `ParsedDocument`."""

from __future__ import annotations

from pathlib import PurePosixPath

from .clean import clean_text
from .errors import UnreadableFile
from .metadata import extract_metadata
from .records import ParsedDocument
from .structure import parse_sections


def parse_text(raw: str, source: str) -> ParsedDocument:
    cleaned = clean_text(raw)
    if not any(ch.isalnum() for ch in cleaned.text):
        raise UnreadableFile("清洗后没有正文")
    paragraphs = cleaned.paragraphs
    meta = extract_metadata(paragraphs, cleaned.print_date, PurePosixPath(source).name)
    if not meta.title:
        meta.title = PurePosixPath(source).stem
    sections = parse_sections(paragraphs)
    return ParsedDocument(source, cleaned.text, meta, sections, cleaned.removed)
