"""Test fixtures written by the tests: a seed plan as .docx (numbering from Word's list
definitions), as a PDF (Chinese text, running header, page numbers), as a web page."""

from __future__ import annotations

from pathlib import Path

from indexer.clean import clean_text
from indexer.structure import match_heading, parse_sections


def seed_outline(text: str) -> tuple[list[str], list[tuple[int | None, str, str]]]:
    """The seed's section paths, and its paragraphs as (heading level or None, number, text without number)."""
    cleaned = clean_text(text)
    paths = [tuple(s.path) for s in parse_sections(cleaned.paragraphs)]
    items = []
    for p in cleaned.paragraphs:
        h = match_heading(p)
        if h and h.family in ("cn", "num") and h.title:
            level = 0 if h.family == "cn" else 1
            body = p[len(h.label):].lstrip()
            items.append((level, h.label, body))
        else:
            items.append((None, "", p))
    return paths, items


def write_docx(path: Path, items: list[tuple[int | None, str]], header: str = "", footer: str = "") -> Path:
    """Headings get their numbers only from Word's numbering: parts through a list-linked
    paragraph style, items through direct numbering."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    doc = docx.Document()
    numbering = doc.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:multiLevelType w:val="multilevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%2."/></w:lvl>'
        "</w:abstractNum>"))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    styles = doc.styles.element
    styles.append(parse_xml(
        f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="PolicyPart"><w:name w:val="Policy Part"/>'
        '<w:basedOn w:val="Normal"/><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="90"/></w:numPr></w:pPr>'
        "</w:style>"))
    for level, _, text in items:
        if level == 0:
            doc.add_paragraph(text, style="Policy Part")
        elif level == 1:
            p = doc.add_paragraph(text)
            p._p.get_or_add_pPr().append(parse_xml(
                f'<w:numPr {nsdecls("w")}><w:ilvl w:val="1"/><w:numId w:val="90"/></w:numPr>'))
        else:
            doc.add_paragraph(text)
    table = doc.add_table(rows=2, cols=2)
    for (r, c), value in {(0, 0): "项目", (0, 1): "目标", (1, 0): "新建学校", (1, 1): "3所"}.items():
        table.cell(r, c).text = value
    if header:
        doc.sections[0].header.paragraphs[0].text = header
    if footer:
        doc.sections[0].footer.paragraphs[0].text = footer
    doc.save(str(path))
    return path


def wrap(text: str, width: int = 30) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def write_pdf(path: Path, items: list[tuple[int | None, str]], header: str = "", lines_per_page: int = 34,
              numbered: bool = True) -> Path:
    """A Word-exported-looking PDF: hard-wrapped lines, a running header, `— n —` page numbers."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    lines: list[str] = []
    for level, label, text in items:
        lines += wrap((label if numbered and level is not None else "") + text)
    c = canvas.Canvas(str(path), pagesize=A4)
    for page, start in enumerate(range(0, len(lines), lines_per_page), start=1):
        if header:
            c.setFont("STSong-Light", 9)
            c.drawString(72, 805, header)
        c.setFont("STSong-Light", 12)
        y = 770
        for line in lines[start:start + lines_per_page]:
            c.drawString(60, y, line)
            y -= 20
        c.setFont("STSong-Light", 9)
        c.drawString(285, 40, f"— {page} —")
        c.showPage()
    c.save()
    return path


def write_html(path: Path, items: list[tuple[int | None, str]], title: str) -> Path:
    import html

    body = [f"<p>{html.escape(label + text)}</p>" for _, label, text in items]
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}_某区人民政府门户网站</title></head>
<body><div class="nav"><a href="/">首页</a> | <a href="/zwgk">政务公开</a> | <a href="/hdjl">互动交流</a></div>
<div class="share">分享到：<a>微信</a> <a>微博</a> <a>QQ空间</a></div>
<div class="article"><h1>{html.escape(title)}</h1><div class="info">发布时间：2024-03-01 来源：区教育局</div>
<div class="content">{''.join(body)}</div></div>
<div class="footer"><p>主办：某区人民政府办公室 承办：某区大数据管理中心</p><p>网站标识码：3204120001 苏ICP备12345678号</p></div>
<script>console.log("x")</script></body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
