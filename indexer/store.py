"""One index is one directory:

    config.json    manifest: format version, model, counts, per-file hashes, build info
    store.sqlite   documents (with cleaned text), sections, chunks (text, offsets, tokens)
    vectors.npy    chunk embeddings, row i = chunk row i
    dense.faiss    FAISS index over the same rows
    bm25/          bm25s index over the chunks' jieba tokens

It is written beside the old one and swapped in with renames, so a failed or
interrupted build leaves the previous index as it was.

One module because the layout, the swap, the lock and the checks on load are one contract: the
file names, the manifest's fields and the order of the renames must change together.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import PolicyQAError

FORMAT = "policyqa-index"
FORMAT_VERSION = 1
MANIFEST = "config.json"
DB = "store.sqlite"
VECTORS = "vectors.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
USE_CHUNKS = "use_chunks.npy"  # the second embedding (indexer/second.py), row i = chunk row i
USE_SENTENCES = "use_sentences.npy"  # one row per sentence of every chunk
SENTENCE_CHUNK = "sentence_chunk.npy"  # the chunk row of each sentence, ascending
USE_INDEX = "use.faiss"  # FAISS index over use_chunks
USE_SENTENCE_INDEX = "use_sentences.faiss"  # FAISS index (fp16) over use_sentences
DATA_FILES = (DB, VECTORS, DENSE)
SECOND_FILES = (USE_CHUNKS, USE_SENTENCES, SENTENCE_CHUNK, USE_INDEX)


class IndexProblem(PolicyQAError):
    """An index that cannot be used; the message tells the user what to run."""


class IndexNotFound(IndexProblem):
    pass


class IndexDamaged(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


def rebuild_hint(index_dir: Path, corpus: str | None = None) -> str:
    return f"policyqa index {corpus or '<文档文件夹>'} --index {index_dir} --rebuild"


def exists(index_dir: Path) -> bool:
    try:
        read_manifest(Path(index_dir))
        return True
    except IndexProblem:
        return False


def read_manifest(index_dir: Path) -> dict:
    index_dir = Path(index_dir)
    _recover_interrupted_swap(index_dir)
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexNotFound(f"找不到索引：{index_dir}。请先建立索引：policyqa index <文档文件夹> --index {index_dir}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexDamaged(f"索引清单 {path} 已损坏（{e}）。请重建：{rebuild_hint(index_dir)}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexDamaged(f"{index_dir} 不是 policyqa 索引。请重建：{rebuild_hint(index_dir)}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise IndexDamaged(f"索引清单 {path} 已损坏（format_version 应为整数，现为 {json.dumps(version, ensure_ascii=False)}）。"
                           f"请重建：{rebuild_hint(index_dir)}")
    if version != FORMAT_VERSION:
        raise IndexMismatch(
            f"索引格式版本为 {version}，当前程序需要 {FORMAT_VERSION}。"
            f"请重建：{rebuild_hint(index_dir, _text_or_none(manifest.get('corpus')))}"
        )
    problem = manifest_problem(manifest)
    if problem:
        raise IndexDamaged(f"索引清单 {path} 已损坏（{problem}）。请重建：{rebuild_hint(index_dir)}")
    return manifest


def _text_or_none(value) -> str | None:
    return value if isinstance(value, str) else None


# Fields of the manifest that code reads, with the type each must have ("dict?": a dict or null).
_MANIFEST_FIELDS = {"model": "dict", "settings": "dict", "counts": "dict", "files": "dict", "skipped": "list",
                    "file_sizes": "dict?", "dense": "dict?", "second": "dict?", "retrieval": "dict?",
                    "corpus": "str?", "build": "dict?"}
_TYPE_NAMES = {"dict": "对象", "list": "数组", "str": "字符串"}


def manifest_problem(manifest: dict) -> str:
    """What is wrong with a manifest's fields, in words for users, or ''."""
    kinds = {"dict": dict, "list": list, "str": str}
    for name, kind in _MANIFEST_FIELDS.items():
        value = manifest.get(name)
        optional = kind.endswith("?")
        if value is None and (optional or name in ("skipped", "file_sizes")):
            continue
        if not isinstance(value, kinds[kind.rstrip("?")]):
            return f"字段 {name} 应为{_TYPE_NAMES[kind.rstrip('?')]}"
    model = manifest["model"]
    if not isinstance(model.get("name"), str) or not isinstance(model.get("dimension", 0), int):
        return "字段 model 的 name 或 dimension 类型不对"
    for name, value in list(manifest["counts"].items()) + list((manifest.get("file_sizes") or {}).items()):
        if not isinstance(value, int) or isinstance(value, bool):
            return f"字段 counts 或 file_sizes 中的 {name} 应为整数"
    for source, entry in manifest["files"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("doc_id"), str):
            return f"字段 files 中 {source} 的记录不完整"
    if any(not isinstance(s, dict) or not isinstance(s.get("source"), str) for s in manifest.get("skipped") or []):
        return "字段 skipped 的记录不完整"
    return ""


def check_files(index_dir: Path, manifest: dict) -> None:
    """Every data file is present with the size the manifest recorded."""
    sizes = manifest.get("file_sizes", {})
    required = DATA_FILES + (SECOND_FILES if manifest.get("second") else ())
    for name in required + tuple(n for n in sizes if n not in required):
        path = index_dir / name
        if not path.exists():
            raise IndexDamaged(f"索引文件缺失：{path}。请重建：{rebuild_hint(index_dir, manifest.get('corpus'))}")
        if name in sizes and path.stat().st_size != sizes[name]:
            raise IndexDamaged(
                f"索引文件 {path} 大小不符（可能被截断）。请重建：{rebuild_hint(index_dir, manifest.get('corpus'))}"
            )
    if not (index_dir / BM25_DIR).is_dir():
        raise IndexDamaged(f"索引缺少关键词索引 {BM25_DIR}/。请重建：{rebuild_hint(index_dir, manifest.get('corpus'))}")


def check_model(index_dir: Path, manifest: dict, requested: str | None) -> None:
    built = manifest.get("model", {}).get("name")
    if requested and built and requested != built:
        raise IndexMismatch(
            f"索引由模型“{built}”建立，而当前指定的是“{requested}”。"
            f"请使用相同模型，或重建：{rebuild_hint(index_dir, manifest.get('corpus'))} --model {requested}"
        )


# --- writing ------------------------------------------------------------------

SCHEMA = """
CREATE TABLE documents (
    row INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, source TEXT, sha256 TEXT,
    title TEXT, org TEXT, doc_number TEXT, date TEXT, year INTEGER, region TEXT, doc_type TEXT,
    n_sections INTEGER, text TEXT, removed TEXT, facts TEXT
);
CREATE TABLE sections (
    row INTEGER PRIMARY KEY, doc_row INTEGER, key TEXT, path TEXT,
    start INTEGER, end INTEGER, parent TEXT, has_children INTEGER
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, doc_row INTEGER, section_row INTEGER,
    start INTEGER, end INTEGER, text TEXT, tokens TEXT, embed_hash TEXT
);
CREATE INDEX sections_doc ON sections(doc_row);
CREATE INDEX chunks_section ON chunks(section_row);
"""


@contextlib.contextmanager
def build_lock(index_dir: Path):
    """One build at a time per index directory, however its path is spelt (through a link or not)."""
    index_dir = Path(os.path.realpath(index_dir))
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise IndexProblem(f"另一个建索引的进程正在写 {index_dir}，请稍后再试") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# Staging folders of builds running in this process: removed if the process exits mid-build
# (a server stopped with Ctrl-C or SIGTERM while an upload is being indexed).
_active_staging: set[Path] = set()
_stopping = threading.Event()


def request_stop() -> None:
    """The process is stopping: builds under way give up at their next step (their staging
    is removed, the previous index stays)."""
    _stopping.set()


def stop_requested() -> bool:
    return _stopping.is_set()


def new_staging_dir(index_dir: Path) -> Path:
    index_dir = Path(index_dir)
    _remove_stale_staging(index_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-{os.getpid()}-", dir=index_dir.parent))
    _active_staging.add(staging)
    # mkdtemp makes a folder only its owner may read; the index keeps the mode it had (or the umask's)
    os.chmod(staging, _index_mode(index_dir))
    return staging


def discard_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    _active_staging.discard(Path(staging))


def _index_mode(index_dir: Path) -> int:
    try:
        return os.stat(index_dir).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o777 & ~umask


@atexit.register
def _discard_active_staging() -> None:
    request_stop()
    for staging in list(_active_staging):
        discard_staging(staging)


def remove_stale_staging(index_dir: Path) -> None:
    """Staging folders left by builds whose process is gone (a server killed mid-build)."""
    _remove_stale_staging(Path(os.path.realpath(index_dir)))


def _remove_stale_staging(index_dir: Path) -> None:
    for p in index_dir.parent.glob(f".{index_dir.name}.tmp-*"):
        try:
            pid = int(p.name.split(".tmp-")[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _backup_name(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.old"


def recover_interrupted_swap(index_dir: Path) -> None:
    """For a build that holds the lock: a crash between the two renames of an earlier swap left
    only the backup; put it back before building, so its vectors are reused and searches
    find an index while the build runs."""
    backup = _backup_name(index_dir)
    if not index_dir.exists() and (backup / MANIFEST).exists():
        os.rename(backup, index_dir)


def _recover_interrupted_swap(index_dir: Path) -> None:
    """A crash between the two renames of a swap leaves only the backup: put it back."""
    backup = _backup_name(index_dir)
    if index_dir.exists() or not (backup / MANIFEST).exists():
        return
    wait_for_index(index_dir)  # a live build finishes its swap in an instant
    if index_dir.exists():
        return
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with contextlib.suppress(OSError), open(lock_path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a build runs
        if not index_dir.exists() and (backup / MANIFEST).exists():
            os.rename(backup, index_dir)
        fcntl.flock(f, fcntl.LOCK_UN)


def swap_in(staging: Path, index_dir: Path) -> None:
    """Replace `index_dir` by `staging` (a complete index) with two renames."""
    index_dir = Path(index_dir)
    backup = _backup_name(index_dir)
    _fsync_tree(staging)
    if backup.exists():
        shutil.rmtree(backup)
    if index_dir.exists():
        os.rename(index_dir, backup)
    try:
        os.rename(staging, index_dir)
    except OSError:
        if backup.exists() and not index_dir.exists():
            os.rename(backup, index_dir)
        raise
    _active_staging.discard(Path(staging))
    _fsync(index_dir.parent)
    shutil.rmtree(backup, ignore_errors=True)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(path: Path) -> None:
    """Flush the staged index (its files and folders) before it is renamed into place."""
    for child in Path(path).rglob("*"):
        _fsync(child)
    _fsync(path)


def write_manifest(staging: Path, manifest: dict) -> None:
    manifest = dict(manifest)
    manifest["file_sizes"] = {name: (staging / name).stat().st_size
                              for name in DATA_FILES + SECOND_FILES + (USE_SENTENCE_INDEX,)
                              if (staging / name).exists()}
    data = json.dumps(manifest, ensure_ascii=False, indent=2)
    (staging / MANIFEST).write_text(data, encoding="utf-8")


def is_disk_error(e: OSError) -> bool:
    return e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)


# --- reading --------------------------------------------------------------------


@dataclass
class DocumentRow:
    row: int
    doc_id: str
    source: str
    sha256: str
    title: str
    org: str
    doc_number: str
    date: str
    year: int | None
    region: str
    doc_type: str
    n_sections: int
    places: list[str] = field(default_factory=list)  # region and the places above it, province first
    lifecycle: dict = field(default_factory=dict)  # indexer.lifecycle facts: effective, repeals, versions …


@dataclass
class SectionRow:
    row: int
    doc_row: int
    key: str
    path: list[str]
    start: int
    end: int
    parent: str | None
    has_children: bool
    has_text: bool = True  # holds text of its own (not just a heading over its children)


_DOC_COLUMNS = "row, doc_id, source, sha256, title, org, doc_number, date, year, region, doc_type, n_sections"


class Store:
    """Read access to store.sqlite, safe to share between threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._conn.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as e:
            raise self._damaged() from e
        self._lock = threading.Lock()

    def _damaged(self) -> IndexDamaged:
        return IndexDamaged(f"索引数据库 {self.path} 已损坏，无法读取。请重建：{rebuild_hint(self.path.parent)}")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a query; a damaged page of the database (found only when read) is reported
        as a damaged index with the rebuild command."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                raise self._damaged() from e

    def documents(self) -> list[DocumentRow]:
        if not self._has_facts():  # an index of pipeline version 10 or older: no places or lifecycle yet
            return [DocumentRow(*r) for r in self.query(f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY row")]
        docs = []
        for *r, facts in self.query(f"SELECT {_DOC_COLUMNS}, facts FROM documents ORDER BY row"):
            extra = json.loads(facts) if facts else {}
            docs.append(DocumentRow(*r, places=extra.get("places", []), lifecycle=extra.get("lifecycle", {})))
        return docs

    def _has_facts(self) -> bool:
        return any(c[1] == "facts" for c in self.query("PRAGMA table_info(documents)"))

    def sections(self) -> list[SectionRow]:
        rows = self.query("SELECT row, doc_row, key, path, start, end, parent, has_children FROM sections ORDER BY row")
        paths = json.loads("[" + ",".join(r[3] for r in rows) + "]")  # one parse, not one per section
        return [SectionRow(r[0], r[1], r[2], p, r[4], r[5], r[6], bool(r[7])) for r, p in zip(rows, paths)]

    def chunk_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per chunk row: its document row, section row, and start and end in the document text."""
        rows = self.query("SELECT doc_row, section_row, start, end FROM chunks ORDER BY row")
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2].astype(np.int32), arr[:, 3].astype(np.int32)

    def chunks(self, rows: list[int]) -> dict[int, tuple[str, int, int]]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self.query(f"SELECT row, text, start, end FROM chunks WHERE row IN ({marks})", tuple(int(r) for r in rows))
        return {r[0]: (r[1], r[2], r[3]) for r in found}

    def document_text(self, doc_row: int) -> str:
        rows = self.query("SELECT text FROM documents WHERE row = ?", (doc_row,))
        return rows[0][0] if rows else ""

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def wait_for_index(index_dir: Path, seconds: float = 2.0) -> None:
    """Wait out the instant between the two renames of a swap."""
    deadline = time.monotonic() + seconds
    while not (Path(index_dir) / MANIFEST).exists() and time.monotonic() < deadline:
        if not _backup_name(Path(index_dir)).exists():
            return
        time.sleep(0.05)
