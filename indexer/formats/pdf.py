""".pdf with pypdf: text in reading order, running headers, footers and page numbers
removed by their repetition across pages. Lines are rejoined into sentences later,
by cleaning, which knows the width a PDF wraps at."""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

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


def _has_images(page) -> bool:
    try:
        return bool(page.images)
    except Exception:
        return False


def read_pdf(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnreadableFile("读取 PDF 需要 pypdf：pip install pypdf") from e
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as e:
                raise UnreadableFile("PDF 已加密，无法读取（请提供未加密的文件）") from e
            if not decrypted:
                raise UnreadableFile("PDF 已加密（需要密码），无法读取")
        pages = [(page.extract_text() or "").splitlines() for page in reader.pages]
    except UnreadableFile:
        raise
    except Exception as e:
        raise UnreadableFile(f"PDF 文件已损坏或不完整（{type(e).__name__}）") from e
    if not pages:
        raise UnreadableFile("PDF 没有页面（文件可能不完整）")
    text_chars = sum(1 for lines in pages for line in lines for ch in line if ch.isalnum())
    if text_chars < MIN_TEXT_PER_PAGE * len(pages) / 4 and text_chars < 200:
        scanned = any(_has_images(p) for p in reader.pages[:5])
        raise UnreadableFile("PDF 没有文字层（可能是扫描件），需要先做 OCR 文字识别" if scanned or not text_chars
                             else "PDF 中几乎没有可提取的文字（可能是扫描件），需要先做 OCR 文字识别")
    pages, _ = strip_running_lines(pages)
    return "\n".join(line for lines in pages for line in lines)
