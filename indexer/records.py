"""Typed records passed between the indexer's stages and stored in the index."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class DocMeta:
    title: str = ""
    # The title line alone (without a news subtitle or the issuers written above it): what the models
    # see with each chunk. Measured on NCPQA: embedding the full title instead lost doc hit@5 0.969 → 0.965.
    headline: str = ""
    org: str = ""  # issuing organisation, as written
    doc_number: str = ""  # 坛教委字〔2023〕20号
    date: str = ""  # ISO yyyy-mm-dd
    year: int | None = None
    region: str = ""  # 金坛区, 武进区, X区 … as written; empty when the text does not say
    doc_type: str = ""  # 工作要点, 通知, 条例 …
    places: list[str] = field(default_factory=list)  # the region with the places above it: 江苏省 › 常州市 › 金坛区
    lifecycle: dict = field(default_factory=dict)  # indexer.lifecycle.read_lifecycle: effective, repeals, versions …

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Section:
    key: str  # id within its document: heading numbers joined by dots (`3.7`), `p1` for openings
    path: list[str]  # headings from the top, each with its number: ['三、鲜明选育导向…', '7.持续提升…']
    start: int  # offsets of the section's own text in the cleaned document text
    end: int
    parent: str | None = None
    has_children: bool = False

    @property
    def heading(self) -> str:
        return self.path[-1] if self.path else ""


@dataclass
class ParsedDocument:
    source: str  # path relative to the corpus folder
    text: str  # cleaned text, paragraphs separated by newlines
    meta: DocMeta
    sections: list[Section]
    removed: list[str] = field(default_factory=list)  # chrome lines left out by cleaning

    def section_text(self, section: Section) -> str:
        return self.text[section.start:section.end]


@dataclass
class Chunk:
    section_key: str
    text: str  # the chunk's own text, a slice of the document text
    start: int
    end: int
