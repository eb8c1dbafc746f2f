"""Small files that would expand to gigabytes if read naively: the hostile inputs of issue 28,
written by the tests and by bench/hostile_files.py. Each is real: a valid package or image
that a reader without limits would expand."""

from __future__ import annotations

import random
import struct
import zipfile
from pathlib import Path

_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def _big_page(target_bytes: int) -> bytes:
    """A page part of about `target_bytes` that compresses to almost nothing."""
    obj = ('<ofd:TextObject ID="1" Boundary="20 30 170 8" Font="1" Size="4">'
           '<ofd:TextCode X="0" Y="5">重复的文字重复的文字重复的文字重复的文字</ofd:TextCode></ofd:TextObject>')
    count = max(1, target_bytes // len(obj.encode()))
    return (f'{_HEAD}<ofd:Page {_NS}><ofd:Content><ofd:Layer ID="1">{obj * count}'
            "</ofd:Layer></ofd:Content></ofd:Page>").encode()


def _ofd_shell(z: zipfile.ZipFile, document_body: str) -> None:
    z.writestr("OFD.xml", f'{_HEAD}<ofd:OFD {_NS} Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
                          "<ofd:DocID>x</ofd:DocID><ofd:Title>某局通知</ofd:Title></ofd:DocInfo>"
                          "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    z.writestr("Doc_0/Document.xml", f"{_HEAD}<ofd:Document {_NS}>{document_body}</ofd:Document>")


def ofd_shared_page(path: Path, pages: int = 60_000, part_bytes: int = 4_700_000) -> Path:
    """Every one of `pages` pages references one large page part."""
    refs = "".join(f'<ofd:Page ID="{n}" BaseLoc="Pages/Page_0/Content.xml"/>' for n in range(pages))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        _ofd_shell(z, f"<ofd:Pages>{refs}</ofd:Pages>")
        z.writestr("Doc_0/Pages/Page_0/Content.xml", _big_page(part_bytes))
    return path


def ofd_shared_attachment(path: Path, attachments: int = 60_000, part_bytes: int = 4_700_000) -> Path:
    """One small page, and `attachments` attachments that all name one large text part."""
    small = (f'{_HEAD}<ofd:Page {_NS}><ofd:Content><ofd:Layer ID="1"><ofd:TextObject ID="1" Boundary="20 30 170 8" '
             'Size="4"><ofd:TextCode X="0" Y="5">某局通知</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content>'
             "</ofd:Page>")
    entries = "".join(f'<ofd:Attachment ID="a{n}" Name="说明{n}.txt" Format="txt"><ofd:FileLoc>说明.txt</ofd:FileLoc>'
                      "</ofd:Attachment>" for n in range(attachments))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        _ofd_shell(z, '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
                      "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>")
        z.writestr("Doc_0/Pages/Page_0/Content.xml", small)
        z.writestr("Doc_0/Attachs/Attachments.xml", f"{_HEAD}<ofd:Attachments {_NS}>{entries}</ofd:Attachments>")
        z.writestr("Doc_0/Attachs/说明.txt", ("附件说明文字。" * (part_bytes // 21 + 1)).encode()[:part_bytes])
    return path


def pdf_huge_page(path: Path, points: int = 14_400) -> Path:
    """A PDF of a few hundred bytes: one page `points` × `points` pt (14 400 pt = 5 m) with no text,
    so a reader that renders it for OCR allocates the whole page first."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % (points, points),
               b"<< /Length 0 >>\nstream\n\nendstream"]
    return _write_pdf(path, objects)


def pdf_blank_scans(path: Path, pages: int = 190) -> Path:
    """`pages` scanned pages that are blank: a tiny white image drawn over each whole A4 page."""
    kids = " ".join(f"{3 + n} 0 R" for n in range(pages))
    image, content = 3 + pages, 4 + pages
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 {image} 0 R >> >> "
                f"/Contents {content} 0 R >>".encode() for _ in range(pages)]
    pixels = b"\xff" * 64
    objects.append(b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
                   b"/BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream" % (len(pixels), pixels))
    draw = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(draw), draw))
    return _write_pdf(path, objects)


def _write_pdf(path: Path, objects: list[bytes]) -> Path:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    Path(path).write_bytes(bytes(out))
    return path


def tiff_large_second_frame(path: Path, width: int = 40_000, height: int = 40_000) -> Path:
    """A two-frame TIFF: a small first frame, then a white `width` × `height` frame stored as one
    Deflate strip (1.6 G pixels pack into about 1.6 MB). A reader that checks only the first
    frame decodes the second whole."""
    import zlib

    def ifd(w: int, h: int, compression: int, strip_offset: int, strip_bytes: int, next_ifd: int) -> bytes:
        tags = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, compression), (262, 3, 1), (273, 4, strip_offset),
                (277, 3, 1), (278, 4, h), (279, 4, strip_bytes)]
        body = struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            body += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
        return body + struct.pack("<I", next_ifd)

    small = b"\xff" * 64  # 8 × 8, white, uncompressed
    packer = zlib.compressobj(9)
    row_block = b"\xff" * (width * 64)
    big = b"".join(packer.compress(row_block) for _ in range(height // 64)) + packer.compress(
        b"\xff" * (width * (height % 64))) + packer.flush()
    first_ifd_at = 8 + len(small) + len(big)
    second_ifd_at = first_ifd_at + len(ifd(8, 8, 1, 0, 0, 0))
    first = ifd(8, 8, 1, 8, len(small), second_ifd_at)
    second = ifd(width, height, 8, 8 + len(small), len(big), 0)
    Path(path).write_bytes(b"II*\x00" + struct.pack("<I", first_ifd_at) + small + big + first + second)
    return path


def docx_packed(path: Path, part_bytes: int = 175_000_000) -> Path:
    """A .docx whose document.xml unpacks to `part_bytes` (packed about 95 : 1), streamed so that
    writing it takes little memory."""
    import docx

    doc = docx.Document()
    doc.add_paragraph("某局通知")
    doc.save(str(path))
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    body = parts["word/document.xml"].decode()
    head, tail = body.split("<w:body>", 1)
    rnd = random.Random(28)  # two random digits a paragraph: packed about 95 : 1, under the ratio check
    block = "".join("<w:p><w:r><w:t>" + "重复的段落文字，" * 8 + f"{rnd.randrange(100):02d}</w:t></w:r></w:p>"
                    for _ in range(2000)).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in parts.items():
            if name != "word/document.xml":
                z.writestr(name, data)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write((head + "<w:body>").encode())
            written = 0
            while written < part_bytes:
                f.write(block)
                written += len(block)
            f.write(tail.encode())
    return path


def not_a_pdf(path: Path) -> Path:
    """An executable's bytes under a .pdf name."""
    Path(path).write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 64)
    return path
