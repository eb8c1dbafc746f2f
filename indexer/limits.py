"""How much one document may expand to, checked before the work on it starts. Every limit on
what a file may become is here, in one place (docs/operations.md lists them).

A 648 KB `.docx` can hold 70 M characters of repeated text, a 170 KB `.ofd` can name one 5 MB
page 60 000 times, a 435-byte PDF can declare a page of 5 × 5 metres, a TIFF's second frame
can be 40 000 × 40 000 pixels: without these limits one file would take hours and gigabytes
and block every build behind it. The figures are far above any real policy document or
statute (民法典: about 110 000 characters; the largest file of the laws corpus: 360 000).

The format readers check the sizes a file declares (page counts, page areas, frame sizes,
parts and how often they are referenced) before expanding anything; the reader runs in a
child process (reader_process.py) whose memory and time are capped too, in case a parser
still expands something these checks did not foresee.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .errors import UnreadableFile

MAX_FILE_BYTES = 50 * 1024 * 1024  # a file on disk
MAX_DOCUMENT_CHARS = 3_000_000  # the text a file turns into
MAX_DOCUMENT_CHUNKS = 20_000  # the chunks that text is cut into
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # all members of a zip package (.docx, .ofd) together
MAX_PACKING_RATIO = 100  # uncompressed / compressed size of one large member
_RATIO_APPLIES_FROM = 5 * 1024 * 1024  # small members may compress very well (styles, settings)
MAX_XML_PART = 48 * 1024 * 1024  # one XML part parsed whole (a .docx's document.xml, an OFD page)
MAX_PACKAGE_READ = 200 * 1024 * 1024  # bytes an OFD reader may unpack, a part counted each time it is named
MAX_PAGES = 5_000  # pages of a PDF or an OFD (a 360 000-character statute has about 400)
MAX_ATTACHMENTS = 100  # attachments of an OFD that are read
MAX_SCAN_PAGES = 200  # pages recognised by OCR in one file: a 2 000-page scan would block every build
MAX_PIXELS = 40_000_000  # one image or rendered page (a 10 000 × 10 000 photo is 100 M)
READER_MEMORY_MB = 1536  # the data segment of the process that reads one file (reader_process.py)
READER_SECONDS = 30 * 60  # one file, all pages (OCR reads about 15 pages a minute on 2 cores)
READER_IDLE_SECONDS = 120  # without a page done: a page that OCR cannot finish


def current() -> dict[str, int]:
    """Every limit by name: sent to the reading process, so that it checks what this one does."""
    return {k: v for k, v in globals().items() if k.lstrip("_").isupper() and isinstance(v, int)}


def apply(values: dict[str, int]) -> None:
    for name, value in values.items():
        if name in globals() and isinstance(value, int):
            globals()[name] = value


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def check_package(path: Path) -> None:
    """A zip package whose members would unpack past the limits is refused unread."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: the format's reader says what is wrong with it
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise UnreadableFile(f"文件解压后过大（{_mb(total)}，上限 {_mb(MAX_UNPACKED_BYTES)}），可能是压缩炸弹，已跳过")
    for m in members:
        if m.file_size >= _RATIO_APPLIES_FROM and m.file_size > MAX_PACKING_RATIO * max(m.compress_size, 1):
            raise UnreadableFile(f"文件中的 {m.filename} 压缩比异常（{m.file_size // max(m.compress_size, 1)} 倍，"
                                 f"上限 {MAX_PACKING_RATIO} 倍），可能是压缩炸弹，已跳过")
        if m.filename.lower().endswith((".xml", ".rels")) and m.file_size > MAX_XML_PART:
            raise UnreadableFile(f"文件中的 {m.filename} 解压后过大（{_mb(m.file_size)}，上限 {_mb(MAX_XML_PART)}），"
                                 "解析它会占用过多内存，已跳过")


def check_pages(count: int, kind: str) -> None:
    if count > MAX_PAGES:
        raise UnreadableFile(f"{kind}有 {count:,} 页，超过上限 {MAX_PAGES:,} 页：请拆分后再加入")


def check_scan_pages(count: int, kind: str) -> None:
    if count > MAX_SCAN_PAGES:
        raise UnreadableFile(f"{kind}有 {count} 页需要文字识别，超过上限 {MAX_SCAN_PAGES} 页：请拆分后再加入")


def check_pixels(width: float, height: float, what: str) -> None:
    """An image (or a page about to be rendered) of more pixels than the limit is refused
    before a single pixel is decoded."""
    if width * height > MAX_PIXELS:
        raise UnreadableFile(f"{what}过大（{width:.0f}×{height:.0f} 像素，上限 {MAX_PIXELS // 1_000_000} 百万像素）")


def check_text(text: str) -> str:
    if len(text) > MAX_DOCUMENT_CHARS:
        raise UnreadableFile(f"文档过长（{len(text):,} 字，上限 {MAX_DOCUMENT_CHARS:,} 字），已跳过；可拆分为多个文件")
    return text


def check_chunks(n: int) -> None:
    if n > MAX_DOCUMENT_CHUNKS:
        raise UnreadableFile(f"文档切分后文本块过多（{n:,} 个，上限 {MAX_DOCUMENT_CHUNKS:,} 个），已跳过；可拆分为多个文件")


class TextBudget:
    """Characters a reader has produced so far: it stops as soon as the document is too long,
    instead of building the whole text first."""

    def __init__(self) -> None:
        self.used = 0

    def add(self, text: str) -> str:
        self.used += len(text)
        if self.used > MAX_DOCUMENT_CHARS:
            raise UnreadableFile(f"文档过长（超过 {MAX_DOCUMENT_CHARS:,} 字），已跳过；可拆分为多个文件")
        return text
