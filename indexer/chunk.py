"""One chunk per lowest-level section; long sections split at Chinese sentence ends."""

from __future__ import annotations

from functools import lru_cache

from .records import Chunk, ParsedDocument, Section

MAX_CHARS = 400
OVERLAP = 60
SEPARATORS = ["\n", "。", "！", "？", "；", "，", ""]


@lru_cache(maxsize=8)
def _splitter(max_chars: int, overlap: int):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=max_chars,
        chunk_overlap=overlap,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def own_text_range(doc: ParsedDocument, section: Section, children_start: int | None) -> tuple[int, int]:
    """A parent section's own text ends where its first child begins."""
    end = section.end if children_start is None else max(section.start, children_start - 1)
    return section.start, end


def is_heading_only(doc: ParsedDocument, section: Section, start: int, end: int) -> bool:
    own = doc.text[start:end].strip()
    return section.has_children and "\n" not in own and len(own) <= len(section.heading) + 4


def chunk_document(doc: ParsedDocument, max_chars: int = MAX_CHARS, overlap: int = OVERLAP) -> list[Chunk]:
    first_child: dict[str, int] = {}
    for s in doc.sections:
        if s.parent is not None and s.parent not in first_child:
            first_child[s.parent] = s.start
    chunks: list[Chunk] = []
    for section in doc.sections:
        start, end = own_text_range(doc, section, first_child.get(section.key))
        if end <= start or is_heading_only(doc, section, start, end):
            continue
        chunks.extend(split_section(doc.text, section.key, start, end, max_chars, overlap))
    return chunks


def split_section(text: str, key: str, start: int, end: int, max_chars: int, overlap: int) -> list[Chunk]:
    body = text[start:end]
    if len(body) <= max_chars:
        return [Chunk(key, body, start, end)]
    pieces = _splitter(max_chars, overlap).split_text(body)
    chunks, cursor = [], 0
    for piece in pieces:
        at = body.find(piece, max(0, cursor - overlap - 5))
        if at < 0:
            at = body.find(piece)
        if at < 0:  # the splitter changed the text (it should not): keep the piece unlocated
            at = cursor
        chunks.append(Chunk(key, piece, start + at, start + at + len(piece)))
        cursor = at + len(piece)
    return chunks
