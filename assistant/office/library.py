"""The documents behind an index: listing them, adding uploaded files to the corpus
folder, taking documents out and putting them back.

Nothing is deleted. A removed file is moved to `<corpus>/.removed/` (which indexing
skips like every hidden folder) under a name no other removal uses, and a line in
`.removed/removed.jsonl` remembers where it came from, so it can be restored. An upload
never overwrites a document: it is saved beside it under a new name, or, when asked,
the old file is moved to `.removed/` first.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.errors import PolicyQAError, UnreadableFile, os_reason
from indexer.read import SUPPORTED_SUFFIXES, file_digest
from indexer.store import DocumentRow

from ..search.engine import SearchEngine

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
REMOVED_DIR = ".removed"
REMOVED_LOG = "removed.jsonl"
KEEP_BOTH, REPLACE = "keep", "replace"  # what an upload does when a file of that name exists


class LibraryError(PolicyQAError, ValueError):
    """A file the library refuses; the message is for users."""


@dataclass
class DocumentInfo(DocumentRow):
    """A document as the list shows it: its stored row plus what the build learnt reading it."""

    ocr_pages: int = 0  # pages read by OCR (a scan, a photo), 0 for a born-digital file

    @property
    def sections(self) -> int:
        return self.n_sections


def list_documents(engine: SearchEngine) -> list[DocumentInfo]:
    files = engine.manifest.get("files") or {}
    return [DocumentInfo(**vars(d), ocr_pages=int((files.get(d.source) or {}).get("ocr_pages", 0)))
            for d in engine.documents()]


# --- uploads ----------------------------------------------------------------------------

@dataclass
class Upload:
    """What became of one uploaded file."""

    name: str  # as uploaded
    action: str  # added | renamed | replaced | identical | refused
    saved_as: str = ""  # its name in the corpus folder
    reason: str = ""  # why it was refused
    replaced: RemovedFile | None = None  # where the file it replaced went

    @property
    def saved(self) -> bool:
        return bool(self.saved_as)

    def message(self) -> str:
        if self.action == "added":
            return f"已加入索引：{self.saved_as}"
        if self.action == "renamed":
            return (f"已加入索引：{self.saved_as}（文档文件夹中已有同名文件 {self.name}，原文件保持不变，"
                    f"新文件另存为 {self.saved_as}）")
        if self.action == "replaced":
            return (f"已替换：{self.saved_as}（原文件已移到 {REMOVED_DIR}/{self.replaced.stored}，"
                    f"可在“已移除的文档”中恢复）")
        if self.action == "identical":
            return f"未重复添加：{self.name}（与文档文件夹中的同名文件内容相同）"
        return f"未加入：{self.name}（{self.reason}）"


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


def _readable(path: Path, name: str, progress=None) -> None:
    """Refuse a file the index would skip (binary data named .txt, a damaged .docx, a file
    that expands past the limits) before it enters the corpus folder. A scan is recognised
    here already (its text is cached for the build)."""
    from indexer import ocr
    from indexer.parse import parse_text
    from indexer.reader_process import read_isolated

    try:
        with ocr.session(progress=progress):
            parse_text(read_isolated(path), name)
    except UnreadableFile as e:
        raise LibraryError(str(e)) from e


def add_files(corpus: Path, uploads: list[tuple[Path, str]], on_conflict: str = KEEP_BOTH,
              progress=None) -> list[Upload]:
    """Copy uploaded files into the corpus folder, each checked first; never overwrite one."""
    corpus = Path(corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    return [_add_one(corpus, Path(path), name, on_conflict, progress) for path, name in uploads]


def _add_one(corpus: Path, path: Path, name: str, on_conflict: str, progress=None) -> Upload:
    shown = Path(str(name).replace("\\", "/")).name or str(name)
    staged = None
    try:
        base = check_upload(path, name)
        target = (corpus / base).resolve()
        if target.parent != corpus.resolve():
            raise LibraryError(f"文件名无效：{name!r}")
        # A hidden copy inside the corpus folder: indexing skips it, and the final rename is atomic.
        staged = corpus / f".upload-{secrets.token_hex(6)}{Path(base).suffix.lower()}"
        with open(path, "rb") as src, open(staged, "xb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
        _readable(staged, base, progress)
        if not target.exists():
            os.replace(staged, target)
            return Upload(base, "added", saved_as=base)
        if file_digest(target) == file_digest(staged):
            return Upload(base, "identical")
        if on_conflict == REPLACE:
            replaced = remove_source(corpus, base, reason="被同名上传替换")
            os.replace(staged, target)
            return Upload(base, "replaced", saved_as=base, replaced=replaced)
        free = _free_name(target)
        os.replace(staged, free)
        return Upload(base, "renamed", saved_as=free.name)
    except LibraryError as e:
        message = str(e)
        prefix = f"{shown}："
        return Upload(shown, "refused", reason=message[len(prefix):] if message.startswith(prefix) else message)
    except OSError as e:
        return Upload(shown, "refused", reason=f"保存失败（{os_reason(e)}）")
    finally:
        if staged is not None and staged.exists():
            staged.unlink()


def _free_name(target: Path) -> Path:
    """`名称（2）.txt`, `名称（3）.txt` … the first that does not exist."""
    n = 2
    while True:
        candidate = target.with_name(f"{target.stem}（{n}）{target.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


# --- removal and restore ------------------------------------------------------------------

@dataclass
class RemovedFile:
    stored: str  # its name inside .removed/
    source: str  # where it was, relative to the corpus folder
    time: str  # when it was removed, local time
    sha256: str = ""
    reason: str = ""
    user: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _bin(corpus: Path) -> Path:
    return Path(corpus) / REMOVED_DIR


def _unique_in_bin(bin_dir: Path, name: str) -> Path:
    """A name in .removed/ that no earlier removal used, however close together they come:
    reserved by creating the file exclusively."""
    stem, suffix = Path(name).stem, Path(name).suffix
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = 1
    while True:
        candidate = bin_dir / (f"{stem}.{stamp}{suffix}" if n == 1 else f"{stem}.{stamp}-{n}{suffix}")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return candidate
        except FileExistsError:
            n += 1


def remove_source(corpus: Path, source: str, reason: str = "", user: str = "") -> RemovedFile:
    """Move a document's file out of the indexed corpus into `.removed/`, remembering where it was."""
    corpus = Path(corpus).resolve()
    path = (corpus / source).resolve()
    if corpus not in path.parents or not path.is_file():
        raise LibraryError(f"在文档文件夹中找不到：{source}")
    bin_dir = _bin(corpus)
    bin_dir.mkdir(exist_ok=True)
    sha = file_digest(path)
    target = _unique_in_bin(bin_dir, path.name)
    try:
        os.replace(path, target)
    except OSError:
        target.unlink(missing_ok=True)
        raise
    entry = RemovedFile(target.name, path.relative_to(corpus).as_posix(), time.strftime("%Y-%m-%d %H:%M:%S"),
                        sha, reason, user)
    with open(bin_dir / REMOVED_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")
    return entry


def list_removed(corpus: Path) -> list[RemovedFile]:
    """Files in `.removed/` that can be restored, newest first; files put there by hand (or by
    versions before the log) are listed under their own name."""
    bin_dir = _bin(corpus)
    if not bin_dir.is_dir():
        return []
    logged: dict[str, RemovedFile] = {}
    for entry in _read_log(bin_dir):
        logged[entry.stored] = entry
    found = []
    for p in bin_dir.iterdir():
        if p.name == REMOVED_LOG or p.name.startswith(".") or not p.is_file():
            continue
        found.append(logged.get(p.name) or RemovedFile(
            p.name, p.name, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p.stat().st_mtime))))
    return sorted(found, key=lambda e: (e.time, e.stored), reverse=True)


def _read_log(bin_dir: Path) -> list[RemovedFile]:
    entries = []
    try:
        lines = (bin_dir / REMOVED_LOG).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    fields = RemovedFile.__dataclass_fields__
    for line in lines:
        try:
            raw = json.loads(line)
            entries.append(RemovedFile(**{k: str(v) for k, v in raw.items() if k in fields}))
        except (ValueError, TypeError):
            continue  # a damaged line: the file is still listed under its own name
    return entries


def restore_removed(corpus: Path, stored: str) -> str:
    """Put a removed file back where it was (beside a file that took its name meanwhile);
    return its name in the corpus folder."""
    corpus = Path(corpus).resolve()
    bin_dir = _bin(corpus)
    entry = next((e for e in list_removed(corpus) if e.stored == stored), None)
    path = (bin_dir / stored).resolve()
    if entry is None or path.parent != bin_dir.resolve():
        raise LibraryError(f"已移除的文档中没有：{stored}")
    target = (corpus / entry.source).resolve()
    if corpus not in target.parents or REMOVED_DIR in target.relative_to(corpus).parts:
        target = corpus / Path(entry.source).name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target = _free_name(target)
    os.replace(path, target)
    _drop_from_log(bin_dir, stored)
    return target.relative_to(corpus).as_posix()


def _drop_from_log(bin_dir: Path, stored: str) -> None:
    kept = [e for e in _read_log(bin_dir) if e.stored != stored]
    tmp = bin_dir / f".{REMOVED_LOG}.{secrets.token_hex(4)}"
    tmp.write_text("".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in kept), encoding="utf-8")
    os.replace(tmp, bin_dir / REMOVED_LOG)
