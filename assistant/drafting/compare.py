"""Two sections side by side, differences marked character by character, so a drafter
sees what changed from one plan to the next."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

from indexer.errors import PolicyQAError

from ..search.engine import SearchEngine


class SectionNotFound(PolicyQAError, LookupError):
    pass


@dataclass
class SectionInfo:
    section_id: str
    title: str
    year: int | None
    region: str
    doc_number: str
    date: str
    path: list[str]
    text: str

    @property
    def citation(self) -> str:
        head = " · ".join(str(x) for x in (self.title, self.year, self.region) if x)
        return " › ".join([head, *self.path])

    @property
    def full_citation(self) -> str:
        """Title, document number, date and section path, as an export should give it."""
        head = "，".join(x for x in (self.title, self.doc_number, self.date) if x)
        return f"{head} › {' › '.join(self.path)}"


@dataclass
class Comparison:
    a: SectionInfo
    b: SectionInfo
    ops: list[tuple[str, str, str]]  # (equal|delete|insert|replace, text in a, text in b)
    ratio: float

    def to_json(self) -> dict:
        return {"a": asdict(self.a), "b": asdict(self.b), "similarity": round(self.ratio, 4),
                "ops": [{"op": op, "a": x, "b": y} for op, x, y in self.ops]}


def section_info(engine: SearchEngine, section_id: str) -> SectionInfo:
    section_id = section_id.strip()
    section = engine.section(section_id)
    doc = engine.document(section_id.partition("#")[0]) if section is not None else None
    if doc is None:
        raise SectionNotFound(f"找不到章节：{section_id}（章节 ID 形如 文档ID#3.7，可从 search/precedents 的结果中得到）")
    text = engine.document_text(doc.doc_id)[section.start:section.end]
    return SectionInfo(f"{doc.doc_id}#{section.key}", doc.title, doc.year, doc.region, doc.doc_number, doc.date,
                       section.path, text)


def diff_ops(a: str, b: str) -> tuple[list[tuple[str, str, str]], float]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops = [(tag, a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]
    return _merge_crumbs(ops), matcher.ratio()


def _merge_crumbs(ops: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Fold one- or two-character equal runs between changes into the change, so the
    marks follow words rather than scattered characters."""
    out: list[tuple[str, str, str]] = []
    for i, (tag, x, y) in enumerate(ops):
        between = 0 < i < len(ops) - 1 and ops[i - 1][0] != "equal" and ops[i + 1][0] != "equal"
        if tag == "equal" and len(x) <= 2 and between:
            tag = "replace"
        if out and tag != "equal" and out[-1][0] != "equal":
            _, px, py = out[-1]
            out[-1] = ("replace", px + x, py + y)
        else:
            out.append((tag, x, y))
    return [(("delete" if not y else "insert" if not x else t) if t != "equal" else t, x, y) for t, x, y in out]


def compare_sections(engine: SearchEngine, first: str, second: str) -> Comparison:
    a, b = section_info(engine, first), section_info(engine, second)
    ops, ratio = diff_ops(a.text, b.text)
    return Comparison(a, b, ops, ratio)
