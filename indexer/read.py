"""Find the documents in a corpus folder and read each one into text.

Every problem with one file becomes a `SkippedFile` with a reason in Chinese;
the rest of the corpus is still read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from . import limits
from .errors import UnreadableFile, os_reason

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
READERS = {  # suffix → module and function under indexer.formats
    ".docx": ("docx", "read_docx"), ".pdf": ("pdf", "read_pdf"),
    ".html": ("html", "read_html"), ".htm": ("html", "read_html"),
    ".doc": ("legacy", "read_legacy"), ".wps": ("legacy", "read_legacy"),
    ".ofd": ("ofd", "read_ofd"),
    ".png": ("image", "read_image"), ".jpg": ("image", "read_image"), ".jpeg": ("image", "read_image"),
    ".tif": ("image", "read_image"), ".tiff": ("image", "read_image"),
}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | set(READERS)
PACKAGE_SUFFIXES = {".docx", ".ofd"}  # zip packages: checked for what they unpack to before reading
MAX_FILE_BYTES = limits.MAX_FILE_BYTES
OUTSIDE_LINK = "符号链接指向文档文件夹之外（{target}），已跳过；如确需包含，建索引时加 --follow-links"
__all__ = ["UnreadableFile", "read_document", "read_text", "decode_text", "discover", "SUPPORTED_SUFFIXES"]


@dataclass
class CorpusFile:
    source: str  # path relative to the corpus folder, with forward slashes
    path: Path
    sha256: str
    size: int


@dataclass
class SkippedFile:
    source: str
    reason: str
    sha256: str = ""


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(corpus: Path, follow_links: bool = False) -> tuple[list[CorpusFile], list[SkippedFile]]:
    """Every file under `corpus`, sorted; hidden files and folders are left out, and so are
    symbolic links that lead out of the corpus folder unless `follow_links` allows them."""
    files: list[CorpusFile] = []
    skipped: list[SkippedFile] = []
    seen_dirs: set[tuple[int, int]] = set()
    home = Path(os.path.realpath(corpus))
    for root, dirs, names in os.walk(corpus, followlinks=True):
        st = os.stat(root)
        rel_root = Path(root).relative_to(corpus).as_posix()
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop
            skipped.append(SkippedFile(rel_root, "符号链接形成循环，已跳过该文件夹"))
            dirs[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        real_root = os.path.realpath(root)
        if not follow_links and not _inside(real_root, home):
            skipped.append(SkippedFile(rel_root, OUTSIDE_LINK.format(target=real_root)))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name.startswith("~$"):
                continue
            path = Path(root) / name
            found = _corpus_file(path, path.relative_to(corpus).as_posix(), home, follow_links)
            (files if isinstance(found, CorpusFile) else skipped).append(found)
    files.sort(key=lambda f: f.source)
    return files, skipped


def _inside(path: str, home: Path) -> bool:
    return Path(path) == home or home in Path(path).parents


def _corpus_file(path: Path, rel: str, home: Path, follow_links: bool) -> CorpusFile | SkippedFile:
    try:
        if not path.is_file():
            return SkippedFile(rel, "不是普通文件（可能是失效的链接）")
        real = os.path.realpath(path)
        if not follow_links and not _inside(real, home):
            return SkippedFile(rel, OUTSIDE_LINK.format(target=real))
        size = path.stat().st_size
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            return SkippedFile(rel, f"不支持的文件类型“{path.suffix or '无扩展名'}”")
        if size > MAX_FILE_BYTES:
            return SkippedFile(rel, f"文件过大（{size // 1024 // 1024} MB，上限 {MAX_FILE_BYTES // 1024 // 1024} MB）")
        return CorpusFile(rel, path, file_digest(path), size)
    except OSError as e:
        return SkippedFile(rel, f"无法读取：{os_reason(e)}")


def decode_text(data: bytes) -> str:
    from .formats.text import decode

    return decode(data)


def read_text(path: Path) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UnreadableFile(f"无法读取：{os_reason(e)}") from e
    return decode_text(data)


def read_document(path: Path) -> str:
    """The text of a file of any supported kind, within the limits of indexer/limits.py."""
    import importlib

    suffix = Path(path).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return limits.check_text(read_text(path))
    if suffix not in READERS:
        raise UnreadableFile(f"不支持的文件类型“{suffix or '无扩展名'}”")
    try:
        empty = Path(path).stat().st_size == 0
    except OSError as e:
        raise UnreadableFile(f"无法读取：{os_reason(e)}") from e
    if empty:
        raise UnreadableFile("文件为空")
    if suffix in PACKAGE_SUFFIXES:
        limits.check_package(Path(path))
    module, func = READERS[suffix]
    reader = getattr(importlib.import_module(f"indexer.formats.{module}"), func)
    try:
        return limits.check_text(reader(Path(path)))
    except UnreadableFile:
        raise
    except OSError as e:
        raise UnreadableFile(f"无法读取：{os_reason(e)}") from e
