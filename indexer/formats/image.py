""".png, .jpg/.jpeg, .tif/.tiff (multi-page too): photos and scans of documents, read by OCR
(indexer/ocr.py) page by page."""

from __future__ import annotations

from pathlib import Path

from .. import ocr
from ..errors import UnreadableFile


def read_image(path: Path) -> str:
    try:
        from PIL import Image, ImageSequence
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnreadableFile("读取图片需要 Pillow：pip install pillow") from e
    Image.MAX_IMAGE_PIXELS = None  # our own limit (ocr.MAX_PIXELS) applies, with a clear message
    try:
        with Image.open(path) as probe:
            probe.verify()
        with Image.open(path) as image:
            count = getattr(image, "n_frames", 1)
            width, height = image.size
    except (OSError, ValueError, SyntaxError) as e:
        raise UnreadableFile("图片已损坏或无法读取") from e
    if width * height > ocr.MAX_PIXELS:
        raise UnreadableFile(f"图片过大（{width}×{height} 像素，上限 {ocr.MAX_PIXELS // 1_000_000} 百万像素）")

    def pages():
        with Image.open(path) as image:
            for frame in ImageSequence.Iterator(image):
                yield frame.copy()

    found = ocr.file_pages(Path(path), pages, count, "图片")
    text = "\n".join(p.text for p in found if p.text)
    if not text.strip():
        raise UnreadableFile("图片中没有识别出文字")
    return text
