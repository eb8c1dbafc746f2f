""".pdf with pypdf: text in reading order, running headers, footers and page numbers
removed by their repetition across pages. Lines are rejoined into sentences later,
by cleaning, which knows the width a PDF wraps at."""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

from .. import limits, ocr
from ..errors import UnreadableFile

_DIGITS = re.compile(r"\d+")
_EDGE = 2  # lines at the top and at the bottom of a page that may be running heads or feet
MIN_TEXT_PER_PAGE = 20


def _shape(line: str) -> str:
    """A line with its numbers blanked: `第 3 页` and `第 4 页` have one shape."""
    return _DIGITS.sub("#", re.sub(r"\s+", "", line))


def strip_running_lines(pages: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Drop lines that recur at the top or bottom of most pages."""
    if len(pages) < 2:
        return pages, []
    counts: Counter[str] = Counter()
    for lines in pages:
        edges = {_shape(x) for x in lines[:_EDGE] + lines[-_EDGE:] if x.strip()}
        counts.update(edges)
    needed = max(2, (len(pages) + 1) // 2)
    running = {shape for shape, n in counts.items() if n >= needed and shape}
    removed, kept = [], []
    for lines in pages:
        out = []
        for i, line in enumerate(lines):
            at_edge = i < _EDGE or i >= len(lines) - _EDGE
            if at_edge and _shape(line) in running:
                removed.append(line.strip())
            else:
                out.append(line)
        kept.append(out)
    return kept, removed


def is_pdf(path: Path) -> bool:
    """A PDF starts with `%PDF-` (readers accept a little junk before it)."""
    with open(path, "rb") as f:
        return b"%PDF-" in f.read(1024)


def read_pdf(path: Path) -> str:
    """Text pages as text, scanned pages (no text layer) recognised by OCR, in page order."""
    try:
        from pypdf import PdfReader
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnreadableFile("读取 PDF 需要 pypdf：pip install pypdf") from e
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not is_pdf(path):
        raise UnreadableFile("不是 PDF 文件（文件内容与扩展名不符）")
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as e:
                raise UnreadableFile("PDF 已加密，无法读取（请提供未加密的文件）") from e
            if not decrypted:
                raise UnreadableFile("PDF 已加密（需要密码），无法读取")
        limits.check_pages(len(reader.pages), "PDF ")
        budget = limits.TextBudget()
        pages = [budget.add(page.extract_text() or "").splitlines() for page in reader.pages]
        scanned = [n for n, lines in enumerate(pages, start=1) if _characters(lines) < MIN_TEXT_PER_PAGE]
        for n in scanned:  # before any page is rendered: its size at the resolution OCR reads it at
            box = reader.pages[n - 1].mediabox
            scale = float(reader.pages[n - 1].user_unit or 1) * ocr.RENDER_DPI / 72
            limits.check_pixels(float(box.width) * scale, float(box.height) * scale, f"PDF 第 {n} 页")
    except UnreadableFile:
        raise
    except Exception as e:
        raise UnreadableFile(f"PDF 文件已损坏或不完整（{type(e).__name__}）") from e
    if not pages:
        raise UnreadableFile("PDF 没有页面（文件可能不完整）")
    if scanned:
        pages = _with_recognised(path, pages, scanned)
    pages, _ = strip_running_lines(pages)
    return "\n".join(line for lines in pages for line in lines)


def _characters(lines: list[str]) -> int:
    return sum(1 for line in lines for ch in line if ch.isalnum())


def _with_recognised(path: Path, pages: list[list[str]], scanned: list[int]) -> list[list[str]]:
    """The scanned pages' text from OCR; with OCR off, the text pages alone (a wholly scanned
    PDF is refused with the reason)."""
    if not ocr.current().enabled:
        if len(scanned) == len(pages):
            ocr.refuse_if_disabled("PDF ")
        ocr.current().notes.append(f"第 {'、'.join(map(str, scanned))} 页是扫描页，本次以 --no-ocr 跳过")
        return pages
    try:
        import pypdfium2 as pdfium
    except ImportError as e:
        raise UnreadableFile("PDF 中有扫描页，识别需要 pypdfium2：pip install pypdfium2") from e

    def images():
        pdf = pdfium.PdfDocument(str(path))
        try:
            for n in scanned:
                yield pdf[n - 1].render(scale=ocr.RENDER_DPI / 72).to_pil()
        finally:
            pdf.close()

    found = {p.number: p for p in ocr.file_pages(Path(path), images, len(scanned), "PDF ", numbers=scanned)}
    out = [list(lines) for lines in pages]
    for n, page in found.items():
        if page.text:
            out[n - 1] = page.text.splitlines()
    if not any(_characters(lines) for lines in out):
        if found and all(page.blank for page in found.values()):
            raise UnreadableFile(f"PDF 的 {len(found)} 个扫描页都是空白页，没有可索引的文字")
        raise UnreadableFile("PDF 中没有识别出文字（扫描件可能过于模糊）")
    return out
