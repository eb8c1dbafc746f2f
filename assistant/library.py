"""The documents behind an index: listing them, adding uploaded files to the corpus
folder and taking documents out. Nothing is deleted: a removed file is moved to
`<corpus>/.removed/`, which indexing skips like every hidden folder."""

from __future__ import annotations

import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import PolicyQAError
from indexer.read import SUPPORTED_SUFFIXES

from .engine import SearchEngine

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
REMOVED_DIR = ".removed"


class LibraryError(PolicyQAError, ValueError):
    """A file the library refuses; the message is for users."""


@dataclass
class DocumentInfo:
    doc_id: str
    title: str
    org: str
    doc_number: str
    date: str
    year: int | None
    region: str
    doc_type: str
    sections: int
    source: str


def list_documents(engine: SearchEngine) -> list[DocumentInfo]:
    return [
        DocumentInfo(d.doc_id, d.title, d.org, d.doc_number, d.date, d.year, d.region, d.doc_type,
                     len(engine.sections(d.doc_id)), d.source)
        for d in engine.documents()
    ]


def safe_name(name: str) -> str:
    """A plain file name for an upload: no folders, no leading dot, no control characters."""
    base = Path(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if not base or base in (".", "..") or base.startswith("."):
        raise LibraryError(f"文件名无效：{name!r}")
    return base


def check_upload(path: Path, name: str) -> str:
    base = safe_name(name)
    suffix = Path(base).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = "、".join(sorted(SUPPORTED_SUFFIXES))
        raise LibraryError(f"{base}：不支持的文件类型“{suffix or '无扩展名'}”，可上传 {allowed}")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise LibraryError(f"{base}：文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_UPLOAD_BYTES // 1024 // 1024} MB）")
    if size == 0:
        raise LibraryError(f"{base}：文件为空")
    return base


def add_files(corpus: Path, uploads: list[tuple[Path, str]]) -> tuple[list[str], list[str]]:
    """Copy uploaded files into the corpus folder; return (saved names, problems)."""
    corpus = Path(corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    saved, problems = [], []
    for path, name in uploads:
        try:
            base = check_upload(Path(path), name)
            target = (corpus / base).resolve()
            if target.parent != corpus.resolve():
                raise LibraryError(f"文件名无效：{name!r}")
            shutil.copyfile(path, target)
            saved.append(base)
        except LibraryError as e:
            problems.append(str(e))
        except OSError as e:
            problems.append(f"{name}：保存失败（{e.strerror or e}）")
    return saved, problems


def remove_source(corpus: Path, source: str) -> Path:
    """Move a document's file out of the indexed corpus into `.removed/`."""
    corpus = Path(corpus).resolve()
    path = (corpus / source).resolve()
    if corpus not in path.parents or not path.is_file():
        raise LibraryError(f"在文档文件夹中找不到：{source}")
    bin_dir = corpus / REMOVED_DIR
    bin_dir.mkdir(exist_ok=True)
    target = bin_dir / path.name
    if target.exists():
        target = bin_dir / f"{path.stem}-{time.strftime('%Y%m%d%H%M%S')}{path.suffix}"
    shutil.move(str(path), target)
    return target
