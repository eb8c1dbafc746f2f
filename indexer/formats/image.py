""".png, .jpg/.jpeg, .tif/.tiff (multi-page too): photos and scans of documents, read by OCR
(indexer/ocr.py) page by page."""

from __future__ import annotations

from pathlib import Path

from .. import limits, ocr
from ..errors import UnreadableFile


def read_image(path: Path) -> str:
    try:
        from PIL import Image, ImageSequence
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnreadableFile("读取图片需要 Pillow：pip install pillow") from e
    Image.MAX_IMAGE_PIXELS = None  # our own limit (limits.MAX_PIXELS) applies, with a clear message
    try:
        with Image.open(path) as probe:
            probe.verify()
        with Image.open(path) as image:
            count = getattr(image, "n_frames", 1)
            limits.check_scan_pages(count, "图片")
            for n in range(count):  # every frame's declared size, before any pixel is decoded
                image.seek(n)
                limits.check_pixels(*image.size, f"图片第 {n + 1} 页" if count > 1 else "图片")
    except UnreadableFile:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise UnreadableFile("图片已损坏或无法读取（可能不是图片文件）") from e

    def pages():
        with Image.open(path) as image:
            for frame in ImageSequence.Iterator(image):
                yield frame.copy()

    found = ocr.file_pages(Path(path), pages, count, "图片")
    text = "\n".join(p.text for p in found if p.text)
    if not text.strip():
        raise UnreadableFile("图片中没有识别出文字")
    return text
