"""Find the documents in a corpus folder and read each one into text.

Every problem with one file becomes a `SkippedFile` with a reason in Chinese;
the rest of the corpus is still read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableFile

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
READERS = {  # suffix → module and function under indexer.formats
    ".docx": ("docx", "read_docx"), ".pdf": ("pdf", "read_pdf"),
    ".html": ("html", "read_html"), ".htm": ("html", "read_html"),
    ".doc": ("legacy", "read_legacy"), ".wps": ("legacy", "read_legacy"),
}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | set(READERS)
MAX_FILE_BYTES = 50 * 1024 * 1024
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


def discover(corpus: Path) -> tuple[list[CorpusFile], list[SkippedFile]]:
    """Every file under `corpus`, sorted; hidden files and folders are left out."""
    files: list[CorpusFile] = []
    skipped: list[SkippedFile] = []
    seen_dirs: set[tuple[int, int]] = set()
    for root, dirs, names in os.walk(corpus, followlinks=True):
        st = os.stat(root)
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop
            rel = Path(root).relative_to(corpus).as_posix()
            skipped.append(SkippedFile(rel, "符号链接形成循环，已跳过该文件夹"))
            dirs[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name.startswith("~$"):
                continue
            path = Path(root) / name
            rel = path.relative_to(corpus).as_posix()
            try:
                if not path.is_file():
                    skipped.append(SkippedFile(rel, "不是普通文件（可能是失效的链接）"))
                    continue
                size = path.stat().st_size
                if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                    skipped.append(SkippedFile(rel, f"不支持的文件类型“{path.suffix or '无扩展名'}”"))
                    continue
                if size > MAX_FILE_BYTES:
                    skipped.append(SkippedFile(rel, f"文件过大（{size // 1024 // 1024} MB，上限 {MAX_FILE_BYTES // 1024 // 1024} MB）"))
                    continue
                files.append(CorpusFile(rel, path, file_digest(path), size))
            except OSError as e:
                skipped.append(SkippedFile(rel, f"无法读取：{e.strerror or e}"))
    files.sort(key=lambda f: f.source)
    return files, skipped


def decode_text(data: bytes) -> str:
    from .formats.text import decode

    return decode(data)


def read_text(path: Path) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UnreadableFile(f"无法读取：{e.strerror or e}") from e
    return decode_text(data)


def read_document(path: Path) -> str:
    """The text of a file of any supported kind."""
    import importlib

    suffix = Path(path).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return read_text(path)
    if suffix not in READERS:
        raise UnreadableFile(f"不支持的文件类型“{suffix or '无扩展名'}”")
    module, func = READERS[suffix]
    reader = getattr(importlib.import_module(f"indexer.formats.{module}"), func)
    try:
        return reader(Path(path))
    except UnreadableFile:
        raise
    except OSError as e:
        raise UnreadableFile(f"无法读取：{e.strerror or e}") from e
