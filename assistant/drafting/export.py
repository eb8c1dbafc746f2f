"""Precedents, targets, comparisons and draft checks as Markdown or Word (.docx),
each passage with its full citation: title, document number, date, section path.

A report is first a list of simple blocks, then written out by one of two writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from indexer.errors import PolicyQAError, os_reason

from ..search.results import SearchResult
from .compare import Comparison, SectionInfo
from .draft import DraftReport
from .precedents import PrecedentSet


class ExportError(PolicyQAError, ValueError):
    pass


@dataclass
class Block:
    kind: str  # heading | para | quote | table | diff
    text: str = ""
    level: int = 1
    rows: list[list[str]] = field(default_factory=list)
    ops: list[tuple[str, str, str]] = field(default_factory=list)


def full_citation(r: SearchResult | SectionInfo) -> str:
    path = r.section_path if isinstance(r, SearchResult) else r.path
    head = "，".join(str(x) for x in (r.title, r.doc_number, r.date, getattr(r, "status_label", "")) if x)
    return f"{head} › {' › '.join(path)}"


def precedent_blocks(ps: PrecedentSet) -> list[Block]:
    blocks = [Block("heading", f"先例：{ps.query}", 1), Block("para", ps.coverage_line())]
    for p in ps.precedents:
        s = p.section
        label = " · ".join(str(x) for x in (s.year, s.region, s.title) if x)
        blocks.append(Block("heading", label, 2))
        blocks.append(Block("para", f"出处：{full_citation(s)}（相似度 {p.relevance:.2f}）"))
        blocks.append(Block("quote", s.text))
        for d in p.duplicates:
            blocks.append(Block("para", f"相同段落也见于：{full_citation(d)}"))
        for extra in p.see_also:
            blocks.append(Block("para", f"同一文件另见：{full_citation(extra)}"))
            blocks.append(Block("quote", extra.text))
    if ps.targets:
        by_id = {r.section_id: r for r in ps.sections()}
        blocks.append(Block("heading", "目标与指标", 2))
        rows = [["数值", "所指", "出处"]]
        for t in ps.targets:
            source = by_id.get(t.section_id)
            rows.append([t.value, t.counts, full_citation(source) if source else t.citation])
        blocks.append(Block("table", rows=rows))
    return blocks


def comparison_blocks(c: Comparison) -> list[Block]:
    return [
        Block("heading", f"对比：{c.a.citation} ↔ {c.b.citation}", 2),
        Block("para", f"甲：{c.a.full_citation}"),
        Block("para", f"乙：{c.b.full_citation}"),
        Block("para", f"文字相似度 {c.ratio:.0%}。"),
        Block("diff", ops=c.ops),
    ]


def draft_blocks(r: DraftReport) -> list[Block]:
    blocks = [Block("heading", f"草稿检查：{r.title or '未命名草稿'}", 1)]
    if r.comparable:
        blocks.append(Block("para", f"对照文件：{r.comparable.title}（{r.reason}）；覆盖其 {r.covered} 个条目，"
                                    f"未覆盖 {len(r.missing)} 个。"))
        blocks.append(Block("heading", "草稿未涉及的条目", 2))
        for m in r.missing:
            blocks.append(Block("para", f"{m.path[-1]} —— {m.full_citation}"))
            blocks.append(Block("quote", m.text))
    else:
        blocks.append(Block("para", r.reason))
    blocks.append(Block("heading", "各条目的先例", 2))
    for item in r.items:
        blocks.append(Block("heading", (f"【{item.change}】" if item.change else "") + " › ".join(item.path), 3))
        for p in item.precedents:
            blocks.append(Block("para", f"{full_citation(p)}"))
            blocks.append(Block("quote", p.text))
    return blocks


def change_blocks(c) -> list[Block]:
    """A change list (drafting.changes.ChangeList) for Word or Markdown."""
    counts = "，".join(f"{k} {n} 条" for k, n in c.counts().items())
    blocks = [Block("heading", f"变化：《{c.before.title}》→《{c.after.title}》", 1), Block("para", counts + "。")]
    for item in c.items:
        side = item.after or item.before
        blocks.append(Block("heading", f"【{item.change}】{' › '.join(side.path)}", 3))
        for t in item.targets:
            blocks.append(Block("para", f"指标：{t.before} → {t.after}（{t.counts}）"))
        if item.ops:
            blocks.append(Block("diff", ops=item.ops))
        elif item.change in ("新增", "删除"):
            blocks.append(Block("quote", side.text))
    return blocks


def _diff_markup(ops) -> str:
    out = []
    for op, a, b in ops:
        if op == "equal":
            out.append(a)
        else:
            if a:
                out.append(f"[-{a}-]")
            if b:
                out.append(f"{{+{b}+}}")
    return "".join(out)


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if b.kind == "heading":
            out.append("#" * b.level + " " + b.text)
        elif b.kind == "para":
            out.append(b.text)
        elif b.kind == "quote":
            out.append("\n".join("> " + line for line in b.text.split("\n")))
        elif b.kind == "diff":
            out.append("删去的文字标为 [-…-]，新增的标为 {+…+}。")
            out.append("")
            out.append(_diff_markup(b.ops))
        elif b.kind == "table":
            head, *body = b.rows
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "---|" * len(head))
            out += ["| " + " | ".join(c.replace("|", "｜").replace("\n", " ") for c in row) + " |" for row in body]
        out.append("")
    return "\n".join(out)


def to_docx(blocks: list[Block], path) -> None:
    """Write a .docx to a path or a binary file object."""
    try:
        from docx import Document
        from docx.enum.text import WD_COLOR_INDEX
        from docx.oxml.ns import qn
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ExportError("导出 Word 需要 python-docx：pip install python-docx") from e
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    for b in blocks:
        if b.kind == "heading":
            doc.add_heading(b.text, level=min(b.level, 4))
        elif b.kind == "para":
            doc.add_paragraph(b.text)
        elif b.kind == "quote":
            doc.add_paragraph(b.text, style="Quote")
        elif b.kind == "diff":
            doc.add_paragraph("删去的文字以删除线和粉色底标出，新增的文字以下划线和绿色底标出。")
            para = doc.add_paragraph()
            for op, a, bb in b.ops:
                if op == "equal":
                    para.add_run(a)
                    continue
                if a:
                    run = para.add_run(a)
                    run.font.strike = True
                    run.font.highlight_color = WD_COLOR_INDEX.PINK
                if bb:
                    run = para.add_run(bb)
                    run.font.underline = True
                    run.font.highlight_color = WD_COLOR_INDEX.BRIGHT_GREEN
        elif b.kind == "table":
            table = doc.add_table(rows=len(b.rows), cols=len(b.rows[0]))
            table.style = "Table Grid"
            for i, row in enumerate(b.rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
    doc.save(path if hasattr(path, "write") else str(path))


def write(blocks: list[Block], path: Path) -> Path:
    """Write the export whole or not at all: it is made in memory and written to a hidden file
    beside the target, renamed into place only once complete (a full disk leaves no empty file).
    The folder must exist: a mistyped path is not silently created."""
    import io
    import os
    import secrets

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".md", ".docx"):
        raise ExportError(f"导出文件须以 .md 或 .docx 结尾：{path}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"导出文件夹不存在：{folder}（请先建立它，或换一个位置）")
    if suffix == ".md":
        data = to_markdown(blocks).encode("utf-8")
    else:
        buffer = io.BytesIO()
        to_docx(blocks, buffer)
        data = buffer.getvalue()
    partial = folder / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise ExportError(f"无法写入 {path}：{os_reason(e)}") from e
    return path
