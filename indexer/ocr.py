"""Text from scanned pages and photos: RapidOCR (PP-OCRv4 Chinese detection and recognition,
inside the `rapidocr-onnxruntime` wheel, on ONNX Runtime; nothing is downloaded).

A page is read in the orientation that reads best (upright, or turned 90/180/270°), its lines
put back in reading order (top to bottom; a page with two columns column by column), and the
marks of a scan left out: the red seal's text and page numbers; the red header (发文机关)
stays, as the document's first line, where the metadata finds it. OCR is the slowest step of
any build, so a file's result is kept in the cache by its content's hash: a re-index or a
moved file never recognises a page twice.

A build can watch (progress, pages of low confidence) and turn OCR off through `session()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import limits
from .cache import derived, policyqa_cache
from .errors import UnreadableFile

VERSION = 1  # bump when reading order or mark removal changes what a page turns into
RENDER_DPI = 150  # scanned PDF pages are rendered at this resolution
LOW_CONFIDENCE = 0.85  # pages recognised less surely are named in the build summary
_GOOD = 0.80  # a page read at least this surely, in lines wider than tall, is upright
# A page with fewer dark pixels than this share (and at most a few dozen) is blank: not worth
# the second or so OCR spends on it. One printed character at 150 dpi has about 150.
_BLANK_SHARE, _BLANK_FLOOR = 0.00005, 50


@dataclass
class Line:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    score: float
    red: bool = False


@dataclass
class PageText:
    number: int  # from 1
    text: str
    confidence: float
    rotation: int = 0  # degrees the page was turned to read it
    error: str = ""  # why the page could not be read
    blank: bool = False  # nothing on it to read (the back of a double-sided scan)


@dataclass
class Session:
    """What a build wants of OCR while it reads one file."""

    enabled: bool = True
    progress: Callable[[str, int, int], None] | None = None
    notes: list[str] = field(default_factory=list)  # pages of low confidence, pages that failed
    pages: int = 0  # pages recognised (0: the file had none to recognise)


_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar("ocr_session", default=None)


@contextlib.contextmanager
def session(enabled: bool = True, progress=None) -> Iterator[Session]:
    current = Session(enabled, progress)
    token = _session.set(current)
    try:
        yield current
    finally:
        _session.reset(token)


def current() -> Session:
    return _session.get() or Session()


def refuse_if_disabled(what: str) -> None:
    if not current().enabled:
        raise UnreadableFile(f"{what}没有文字层（可能是扫描件），需要先做 OCR 文字识别（本次以 --no-ocr 跳过）")


# --- the engine ---------------------------------------------------------------------------------

_lock = threading.Lock()  # one recognition at a time: the sessions use every core already
_loading = threading.Lock()
_engine = None


def _get_engine():
    global _engine
    if _engine is None:
        with _loading:
            if _engine is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as e:
                    raise UnreadableFile("识别扫描件需要 rapidocr-onnxruntime：pip install rapidocr-onnxruntime==1.4.4") from e
                _engine = RapidOCR()
    return _engine


def _lines(image) -> list[Line]:
    rgb = np.asarray(image.convert("RGB"))
    engine = _get_engine()
    with _lock:
        found, _ = engine(rgb, use_cls=False)
    lines = []
    for box, text, score in found or []:
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        rect = (min(xs), min(ys), max(xs), max(ys))
        lines.append(Line(text.strip(), rect, float(score), _is_red(rgb, rect)))
    return [x for x in lines if x.text]


def _is_red(rgb: np.ndarray, rect) -> bool:
    x0, y0, x1, y1 = (int(max(0, v)) for v in rect)
    crop = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.int16)
    if not len(crop):
        return False
    ink = crop[crop.min(axis=1) < 170]
    if len(ink) < 10:
        return False
    red = (ink[:, 0] > 140) & (ink[:, 0] - np.maximum(ink[:, 1], ink[:, 2]) > 60)
    return red.mean() > 0.5


def _quality(lines: list[Line]) -> float:
    return sum(x.score * len(x.text) for x in lines)


def _upright(lines: list[Line]) -> bool:
    if len(lines) < 3:
        return False
    wide = [x for x in lines if (x.box[2] - x.box[0]) > 1.5 * (x.box[3] - x.box[1])]
    mean = sum(x.score for x in lines) / len(lines)
    return len(wide) >= 0.6 * len(lines) and mean >= _GOOD


def recognise(image, number: int = 1) -> PageText:
    """One page: the orientation that reads best, its lines in reading order, its marks out."""
    from PIL import Image

    limits.check_pixels(image.width, image.height, f"第 {number} 页图片")
    image = image.convert("RGB")
    best, rotation = _lines(image), 0
    if not _upright(best):
        for angle in (90, 270, 180):
            turned = image.transpose({90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                                      270: Image.Transpose.ROTATE_270}[angle])
            lines = _lines(turned)
            if _quality(lines) > 1.15 * _quality(best):
                best, rotation = lines, angle
                if _upright(lines):
                    break
    width, height = image.size if rotation in (0, 180) else (image.height, image.width)
    kept = drop_marks(best, width, height, first_page=number == 1)
    confidence = (sum(x.score * len(x.text) for x in kept) / max(1, sum(len(x.text) for x in kept))) if kept else 0.0
    return PageText(number, "\n".join(reading_order(kept, width)), round(confidence, 4), rotation)


def is_blank(image) -> bool:
    gray = np.asarray(image.convert("L"))
    dark = int(np.count_nonzero(gray < 160))
    return dark <= max(_BLANK_FLOOR, _BLANK_SHARE * gray.size)


# --- reading order and the marks of a scan ------------------------------------------------------------

_PAGE_NUMBER = re.compile(r"^[-—–－·\s]*(?:\d{1,4}|[第]\s*\d{1,4}\s*页(?:\s*共\s*\d+\s*页)?|\d{1,4}\s*/\s*\d{1,4})[-—–－·\s]*$")
_EDGE = 0.08  # the top and bottom share of a page where page numbers stand
_HEADER_ZONE = 0.25  # a red line this high on a page is a header (发文机关), lower down a seal


def drop_marks(lines: list[Line], width: float, height: float, first_page: bool = True) -> list[Line]:
    kept = []
    for x in lines:
        top, bottom = x.box[1] / height, x.box[3] / height
        if _PAGE_NUMBER.match(x.text) and (top > 1 - _EDGE or bottom < _EDGE):
            continue
        if x.red and bottom >= _HEADER_ZONE:
            continue  # the seal's text (and a red rule's stray marks)
        kept.append(x)
    return kept


def reading_order(lines: list[Line], width: float) -> list[str]:
    """Lines top to bottom; boxes of one visual line joined left to right; a page set in two
    columns read column by column between the full-width lines that interrupt them."""
    gutter = _gutter(lines, width)
    if gutter is None:
        return [_join(row) for row in _rows(lines)]
    out, band = [], []
    for row in _rows(lines):
        if any(b.box[0] < gutter < b.box[2] for b in row):  # a heading across both columns
            out += _columns(band, gutter)
            band = []
            out.append(_join(row))
        else:
            band += row
    return out + _columns(band, gutter)


def _columns(lines: list[Line], gutter: float) -> list[str]:
    left = [x for x in lines if x.box[2] <= gutter]
    right = [x for x in lines if x.box[0] >= gutter]
    return [_join(r) for r in _rows(left)] + [_join(r) for r in _rows(right)]


def _rows(lines: list[Line]) -> list[list[Line]]:
    rows: list[list[Line]] = []
    for x in sorted(lines, key=lambda x: (x.box[1] + x.box[3]) / 2):
        middle = (x.box[1] + x.box[3]) / 2
        if rows:
            last = rows[-1]
            top, bottom = min(b.box[1] for b in last), max(b.box[3] for b in last)
            if top <= middle <= bottom:
                last.append(x)
                continue
        rows.append([x])
    return [sorted(r, key=lambda x: x.box[0]) for r in rows]


def _join(row: list[Line]) -> str:
    text, end = "", None
    for x in row:
        gap = x.box[0] - end if end is not None else 0
        height = x.box[3] - x.box[1]
        text += (" " if end is not None and gap > 1.5 * height else "") + x.text
        end = x.box[2]
    return text


def _gutter(lines: list[Line], width: float) -> float | None:
    """The x of an empty vertical strip in the middle of the page with text on both sides of
    most rows: a two-column page."""
    if len(lines) < 8:
        return None
    covered = np.zeros(int(width) + 1, dtype=np.int32)
    for x in lines:
        covered[int(max(0, x.box[0])):int(min(width, x.box[2])) + 1] += 1
    middle = covered[int(0.3 * width):int(0.7 * width)]
    quiet = np.flatnonzero(middle <= max(1, 0.05 * len(lines)))
    if len(quiet) < 0.02 * width:
        return None
    at = int(0.3 * width) + int(np.median(quiet))
    left = sum(1 for x in lines if x.box[2] <= at)
    right = sum(1 for x in lines if x.box[0] >= at)
    return float(at) if min(left, right) >= 0.3 * len(lines) else None


# --- pages of a file, cached ----------------------------------------------------------------------------

def file_pages(path: Path, images: Callable[[], Iterator], count: int, kind: str,
               numbers: list[int] | None = None) -> list[PageText]:
    """Every page of a scanned file, recognised (or read from the cache by the file's hash).
    A page that fails is named and skipped; the others are kept. `numbers`: the pages' numbers
    in the file when only some of its pages are scans (a mixed PDF)."""
    numbers = numbers or list(range(1, count + 1))
    limits.check_scan_pages(count, kind)
    refuse_if_disabled(kind)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    cached = policyqa_cache() / "ocr" / f"{digest}-v{VERSION}.json"
    pages = derived(cached, lambda: _recognise_all(images, numbers),
                    lambda p: [PageText(**x) for x in json.loads(p.read_text(encoding="utf-8"))],
                    lambda v, p: p.write_text(json.dumps([asdict(x) for x in v], ensure_ascii=False), encoding="utf-8"))
    note(pages)
    return pages


def _recognise_all(images: Callable[[], Iterator], numbers: list[int]) -> list[PageText]:
    progress = current().progress
    count = len(numbers)
    pages = []
    for done, (n, image) in enumerate(zip(numbers, images())):
        if progress:
            progress("文字识别", done, count)
        try:
            limits.check_pixels(image.width, image.height, f"第 {n} 页图片")
            pages.append(PageText(n, "", 1.0, blank=True) if is_blank(image) else recognise(image, n))
        except UnreadableFile as e:
            pages.append(PageText(n, "", 0.0, error=str(e)))
        except Exception as e:  # a damaged page: the others still count
            pages.append(PageText(n, "", 0.0, error=f"第 {n} 页无法识别（{type(e).__name__}）"))
    if progress:
        progress("文字识别", count, count)
    return pages


def note(pages: list[PageText]) -> None:
    s = current()
    s.pages += len(pages)
    for p in pages:
        if p.error:
            s.notes.append(p.error)
        elif p.blank:
            continue
        elif not p.text:
            s.notes.append(f"第 {p.number} 页没有识别出文字")
        elif p.confidence < LOW_CONFIDENCE:
            s.notes.append(f"第 {p.number} 页识别置信度低（{p.confidence:.2f}），请人工核对")
