"""Scans made by the tests themselves: text rendered at 150 dpi with a CJK font onto A4 pages,
with what a scanner adds (a slight skew, blur, JPEG artefacts, a page turned 90°), a red header,
a red seal and page numbers; bundled into PDFs, images, multi-page TIFFs. And a minimal OFD."""

from __future__ import annotations

import io
import textwrap
import zipfile
from pathlib import Path

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
A4 = (1240, 1754)  # 150 dpi
MARGIN = 110
SIZE = 30
LINE = 48


def font_available() -> bool:
    return Path(FONT).exists()


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(FONT, size)


def page_lines(text: str, width_chars: int = 33) -> list[str]:
    lines = []
    for paragraph in text.splitlines():
        paragraph = paragraph.strip()
        if paragraph:
            lines += textwrap.wrap(paragraph, width_chars) or [""]
    return lines


def render(lines: list[str], number: int | None = None, header: str = "", seal: str = "", skew: float = 0.0,
           blur: float = 0.0, jpeg: int | None = None, rotate: int = 0):
    """One A4 page at 150 dpi."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("RGB", A4, "white")
    d = ImageDraw.Draw(img)
    y = MARGIN
    if header:
        big = _font(64)
        w = d.textlength(header, font=big)
        d.text(((A4[0] - w) / 2, y), header, fill=(210, 20, 20), font=big)
        y += 100
        d.line([(MARGIN, y), (A4[0] - MARGIN, y)], fill=(210, 20, 20), width=4)
        y += 40
    body = _font(SIZE)
    for line in lines:
        d.text((MARGIN, y), line, fill=(20, 20, 20), font=body)
        y += LINE
    if seal:
        cx, cy, r = A4[0] - 330, y + 40, 120
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(220, 30, 30), width=6)
        small = _font(28)
        w = d.textlength(seal, font=small)
        d.text((cx - w / 2, cy - 14), seal, fill=(220, 30, 30), font=small)
    if number is not None:
        label = f"— {number} —"
        w = d.textlength(label, font=body)
        d.text(((A4[0] - w) / 2, A4[1] - 80), label, fill=(20, 20, 20), font=body)
    if skew:
        img = img.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor="white")
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=jpeg)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if rotate:
        img = img.rotate(rotate, expand=True, fillcolor="white")
    return img


def scan_pages(text: str, header: str = "", seal: str = "", rotate_page: int | None = None, per_page: int = 30,
               **noise) -> list:
    lines = page_lines(text)
    pages = []
    chunks = [lines[i:i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    for n, chunk in enumerate(chunks, start=1):
        pages.append(render(chunk, number=n, header=header if n == 1 else "", seal=seal if n == len(chunks) else "",
                            rotate=90 if n == rotate_page else 0, **noise))
    return pages


def save_pdf(pages: list, path: Path) -> Path:
    pages[0].save(path, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    return path


def save_tiff(pages: list, path: Path) -> Path:
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return path


def text_and_scan_pdf(text_pages: list[str], scan: list, path: Path) -> Path:
    """A PDF with text pages (a text layer) first, then scanned pages."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.pagesizes import A4 as PT_A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    typed = io.BytesIO()
    c = canvas.Canvas(typed, pagesize=PT_A4)
    for text in text_pages:
        y = 780
        c.setFont("STSong-Light", 12)
        for line in page_lines(text, 38):
            c.drawString(60, y, line)
            y -= 20
        c.showPage()
    c.save()
    scanned = io.BytesIO()
    scan[0].save(scanned, "PDF", resolution=150, save_all=True, append_images=scan[1:])
    writer = PdfWriter()
    for source in (typed, scanned):
        source.seek(0)
        for page in PdfReader(source).pages:
            writer.add_page(page)
    with open(path, "wb") as f:
        writer.write(f)
    return path


def write_ofd(path: Path, title: str, pages: list[list[str]], attachment: str | None = None) -> Path:
    """A minimal valid OFD package: OFD.xml, a Document.xml, one Content.xml per page."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    page_refs = "".join(f'<ofd:Page ID="{n + 1}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages)))
    attach_ref = "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attachment else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
                              f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID><ofd:Title>{title}</ofd:Title>"
                              "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
        z.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData>'
                                         '<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>'
                                         f"</ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages>{attach_ref}</ofd:Document>")
        for n, lines in enumerate(pages):
            objects = []
            for i, line in enumerate(reversed(lines)):  # written out of order: reading order comes from Y
                y = 30 + 8 * (len(lines) - 1 - i)
                objects.append(f'<ofd:TextObject ID="{n}{i}" Boundary="20 {y} 170 8" Font="1" Size="4">'
                               f'<ofd:TextCode X="0" Y="5">{line}</ofd:TextCode></ofd:TextObject>')
            z.writestr(f"Doc_0/Pages/Page_{n}/Content.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="1">'
                       f"{''.join(objects)}</ofd:Layer></ofd:Content></ofd:Page>")
        if attachment:
            z.writestr("Doc_0/Attachs/Attachments.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments {ns}><ofd:Attachment ID="a1" '
                       f'Name="说明.txt" Format="txt"><ofd:FileLoc>说明.txt</ofd:FileLoc></ofd:Attachment></ofd:Attachments>')
            z.writestr("Doc_0/Attachs/说明.txt", attachment)
    return path
