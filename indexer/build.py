"""Build or update an index directory from a corpus folder.

Incremental by content hash: unchanged files keep their rows and vectors, new
and changed files are parsed and embedded, deleted files drop out. Vectors are
also reused for any chunk whose embedded text is unchanged. Everything is
written to a staging directory and swapped in at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import limits, ocr, second, store, vectors, workers
from .chinese import to_simplified
from .chunk import MAX_CHARS, OVERLAP, chunk_document
from .embed import BATCH, DEFAULT_MODEL, Embedder, load_embedder
from .errors import PolicyQAError, os_reason
from .fusion import Fusion
from .parse import parse_text
from .read import CorpusFile, SkippedFile, UnreadableFile, discover, read_document
from .records import ParsedDocument
from .tokenize import tokenize
from .workers import Task

VERSION = "0.1.0"
# Bump when cleaning, structure or chunking changes what a file turns into.
PIPELINE_VERSION = 6
BM25_PARAMS = {"k1": 1.2, "b": 0.75}
EMBED_BATCH = BATCH
# Chunks per call to the second model when it runs alone (with their sentences, ~4x as many
# texts): each call ends with one of its two workers idle while the other finishes, so fewer,
# larger calls.
SECOND_BLOCK_ALONE = 2048
# Blocks handed to the shared one-thread workers (indexer/workers.py): small enough that the
# last ones leave a core idle for seconds only. m3e texts, and chunks for the second model;
# a small job gets smaller blocks, so that it too is spread over every worker.
DENSE_BLOCK = 256
SECOND_BLOCK = 256
BLOCKS_PER_WORKER = 4

Progress = Callable[[str, int, int], None]


class BuildError(PolicyQAError):
    """The build could not produce an index; the previous one is untouched."""


class BuildStopped(BuildError):
    """The process is stopping (a server shut down mid-build)."""


@dataclass
class BuildReport:
    index_dir: str
    documents: int = 0
    sections: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    characters: int = 0  # characters of the documents parsed in this run
    seconds: float = 0.0
    up_to_date: bool = False
    model: str = ""
    # seconds: parse, store, words, encode (wall), embed and second (worker-seconds: the two
    # models run side by side inside encode), ann, bm25
    stages: dict[str, float] = field(default_factory=dict)
    warnings: list[SkippedFile] = field(default_factory=list)  # indexed, but a person should know

    @contextmanager
    def timed(self, stage: str):
        started = time.monotonic()
        try:
            yield
        finally:
            # not rounded here: a stage timed in many short spans (jieba per chunk) would round to nothing
            self.stages[stage] = self.stages.get(stage, 0.0) + time.monotonic() - started

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("skipped", "warnings")}
        d["stages"] = {k: round(v, 2) for k, v in self.stages.items()}
        d["skipped"] = [{"source": s.source, "reason": s.reason} for s in self.skipped]
        d["warnings"] = [{"source": s.source, "warning": s.reason} for s in self.warnings]
        return d


# FAISS reports a failed write as a RuntimeError whose text ends in the C library's reason.
_FAISS_WRITE_REASONS = (("No space left", "磁盘已满"), ("Read-only", "只读文件系统"),
                        ("Permission denied", "没有写入权限"), ("Disk quota", "超出磁盘配额"))


def write_problem(e: BaseException) -> str:
    """What a failed write says to users when the disk is full, read-only or not ours; else ''."""
    if isinstance(e, OSError) and store.is_disk_error(e):
        return os_reason(e)
    if isinstance(e, sqlite3.OperationalError) and any(w in str(e) for w in ("full", "readonly", "unable to open")):
        return str(e)
    return ""


def _reserved_memmap(path: Path, dtype, shape: tuple[int, int]) -> np.ndarray:
    """A memory-mapped .npy file whose disk space is reserved at once: a full disk then fails
    here as an OSError, instead of killing the process with SIGBUS when the map is written."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    with open(path, "r+b") as f:
        os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
    return array


def doc_id_for(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]


def embed_text(title: str, path: list[str], text: str) -> str:
    """What the model and BM25 see: the title and heading path give a chunk its context;
    traditional characters are made simplified, as queries are."""
    return to_simplified(f"{title}\n{' › '.join(path)}\n{text}")


def _settings(model: str, max_chars: int, overlap: int) -> dict:
    return {"pipeline": PIPELINE_VERSION, "model": model, "max_chars": max_chars, "overlap": overlap,
            "bm25": BM25_PARAMS}


def _default_fusion() -> dict:
    """The fusion weights searches of this index use (tuned with bench/tune_fusion.py)."""
    return Fusion().to_dict()


@dataclass
class _SecondFiles:
    chunks: np.ndarray  # memory-mapped, a vector per chunk
    sentences: np.ndarray  # memory-mapped, a vector per sentence, fp16
    offsets: np.ndarray  # chunk row -> its first sentence; one more entry than chunks
    kept: set[int]  # chunk rows whose vectors came from the previous index

    @property
    def todo(self) -> int:
        """Chunks still to encode."""
        return len(self.offsets) - 1 - len(self.kept)


def _block_size(items: int, largest: int) -> int:
    """Blocks of at most `largest`, but enough of them to give every worker several; whole batches."""
    per_block = -(-items // (BLOCKS_PER_WORKER * second.WORKERS))
    return max(EMBED_BATCH, min(largest, -(-per_block // EMBED_BATCH) * EMBED_BATCH))


def _noop(stage: str, done: int, total: int) -> None:
    pass


def build_index(
    corpus: Path,
    index_dir: Path,
    model: str | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP,
    allow_shrink: bool = False,
    removing: set[str] | frozenset[str] = frozenset(),
    follow_links: bool = False,
    use_ocr: bool = True,
) -> BuildReport:
    """Build or update the index at `index_dir` from the files under `corpus`.

    `rebuild` recomputes everything from the documents, reusing nothing of the old index.
    A build that would drop more than half of the indexed documents (a wrong corpus folder)
    is refused unless `allow_shrink`; `removing` names the files the caller is taking out on
    purpose, which do not count. `follow_links` also reads links that lead out of the corpus.
    `use_ocr=False` skips scanned pages and images (OCR is the slowest step of a build).
    """
    started = time.monotonic()
    shown = str(index_dir)
    corpus = Path(os.path.abspath(corpus))
    index_dir = Path(os.path.realpath(index_dir))  # a link to the index: swap and lock where it points
    progress = progress or _noop
    model = embedder.name if embedder else (model or DEFAULT_MODEL)
    if not corpus.is_dir():
        raise BuildError(f"找不到文档文件夹：{corpus}")
    report = BuildReport(shown, model=model)
    with _writable(index_dir), store.build_lock(index_dir):
        store.recover_interrupted_swap(index_dir)
        files, skipped = discover(corpus, follow_links=follow_links)
        report.skipped = list(skipped)
        old = _previous(index_dir)
        if old is not None and not allow_shrink:
            _refuse_shrink(old, files, removing, corpus, shown)
        settings = _settings(model, max_chars, overlap)
        same_settings = old is not None and old.get("settings") == settings and not rebuild
        if same_settings and _unchanged(old, files, skipped):
            report.up_to_date = True
            _fill_counts(report, old)
            report.unchanged = len(files)
            report.skipped = [SkippedFile(s["source"], s["reason"]) for s in old.get("skipped", [])]
            report.warnings = [SkippedFile(source, v["warning"]) for source, v in old.get("files", {}).items()
                               if v.get("warning")]
            report.seconds = time.monotonic() - started
            return report
        builder = _Builder(corpus, index_dir, old if same_settings else None, old, settings, model,
                           embedder, progress, max_chars, overlap, report, reuse_vectors=not rebuild)
        builder.use_ocr = use_ocr
        builder.run(files)
    report.seconds = time.monotonic() - started
    return report


def _refuse_shrink(old: dict, files: list[CorpusFile], removing, corpus: Path, shown: str) -> None:
    """A rebuild from the wrong folder must not silently empty the index."""
    indexed = set(old.get("files", {}))
    gone = sorted(indexed - {f.source for f in files} - set(removing))
    if gone and 2 * len(gone) > len(indexed):
        examples = "、".join(gone[:3]) + ("等" if len(gone) > 3 else "")
        raise BuildError(
            f"文档文件夹 {corpus} 中找不到索引里 {len(indexed)} 个文档中的 {len(gone)} 个（{examples}），"
            f"照此重建会把它们从索引中删去。请确认文档文件夹是否正确（索引建自 {old.get('corpus') or '未知'}）；"
            f"如确要删去，请加 --allow-shrink：policyqa index {corpus} --index {shown} --allow-shrink")


@contextmanager
def _writable(index_dir: Path):
    """Errors of the index folder itself (not ours, read-only, full) as a message."""
    try:
        yield
    except OSError as e:
        problem = write_problem(e) or os_reason(e)
        raise BuildError(f"无法写入索引文件夹 {index_dir.parent}（{problem}）：原索引保持不变") from e


def _previous(index_dir: Path) -> dict | None:
    try:
        manifest = store.read_manifest(index_dir)
        store.check_files(index_dir, manifest)
        return manifest
    except store.IndexProblem:
        return None


def _unchanged(old: dict, files: list[CorpusFile], skipped: list[SkippedFile]) -> bool:
    current = {f.source: f.sha256 for f in files}
    known = {s: v["sha256"] for s, v in old.get("files", {}).items()}
    known.update({s["source"]: s.get("sha256", "") for s in old.get("skipped", []) if s.get("sha256")})
    return current == known and not any(s.source not in {x["source"] for x in old.get("skipped", [])} for s in skipped)


def _fill_counts(report: BuildReport, manifest: dict) -> None:
    counts = manifest.get("counts", {})
    report.documents = counts.get("documents", 0)
    report.sections = counts.get("sections", 0)
    report.chunks = counts.get("chunks", 0)


class _Builder:
    def __init__(self, corpus, index_dir, reusable, previous, settings, model, embedder, progress,
                 max_chars, overlap, report, reuse_vectors: bool = True):
        self.corpus = corpus
        self.index_dir = index_dir
        self.reusable = reusable  # the old manifest, if its rows may be copied
        self.previous = previous  # the old manifest, for change reports and the vector cache
        self.reuse_vectors = reuse_vectors  # False for --rebuild: nothing of the old index is trusted
        self.use_ocr = True
        self.settings = settings
        self.model = model
        self.embedder = embedder
        self._report_progress = progress
        self.max_chars = max_chars
        self.overlap = overlap
        self.report = report
        self.files_manifest: dict[str, dict] = {}
        self.rows = {"documents": 0, "sections": 0, "chunks": 0}
        self.second: dict | None = None
        self._encoding = [0, 0]
        self.dense_params: dict = {}
        self.dimension = 0
        self.skipped_manifest: list[dict] = [{"source": s.source, "reason": s.reason, "sha256": s.sha256}
                                             for s in report.skipped]

    def progress(self, stage: str, done: int, total: int) -> None:
        """Report progress; also where a build notices that its process is stopping."""
        if store.stop_requested():
            raise BuildStopped("服务正在停止，本次建索引已取消：原索引保持不变")
        self._report_progress(stage, done, total)

    def run(self, files: list[CorpusFile]) -> None:
        staging = None
        try:
            staging = store.new_staging_dir(self.index_dir)
            self._write(staging, files)
            store.swap_in(staging, self.index_dir)
        except BaseException as e:
            if staging is not None:
                store.discard_staging(staging)
            problem = write_problem(e)
            if problem:
                raise BuildError(f"写入索引失败（{problem}）：原索引保持不变") from e
            raise

    # -- staging -----------------------------------------------------------------

    def _write(self, staging: Path, files: list[CorpusFile]) -> None:
        db = sqlite3.connect(staging / store.DB)
        db.executescript(store.SCHEMA)
        old_db = self._open_old_db()
        needs: list[tuple[int, str]] = []  # (chunk row, embed hash) for every chunk
        prev_files = (self.previous or {}).get("files", {})
        for n, f in enumerate(files):
            self.progress("解析", n, len(files))
            old_entry = (self.reusable or {}).get("files", {}).get(f.source)
            if old_entry and old_entry["sha256"] == f.sha256 and old_db is not None:
                self._copy_document(db, old_db, old_entry["doc_id"], f, needs)
                self.report.unchanged += 1
                continue
            try:
                with self.report.timed("parse"), ocr.session(self.use_ocr, self.progress) as scan:
                    doc = parse_text(read_document(f.path), f.source)
                    chunks = chunk_document(doc, self.max_chars, self.overlap)
                    limits.check_chunks(len(chunks))
            except UnreadableFile as e:
                self._skip(f, str(e))
                continue
            except BuildError:
                raise  # the process is stopping
            except Exception as e:  # a parser bug must not sink the whole corpus
                self._skip(f, f"解析失败：{type(e).__name__}: {e}")
                continue
            self._note_replacements(f, doc.text)
            self.report.warnings += [SkippedFile(f.source, n, f.sha256) for n in scan.notes]
            with self.report.timed("store"):
                self._insert_document(db, doc, chunks, f, needs)
            if scan.pages:
                self.files_manifest[f.source]["ocr_pages"] = scan.pages
            self.report.characters += len(doc.text)
            (self.report.changed if f.source in prev_files else self.report.added).append(f.source)
        self.progress("解析", len(files), len(files))
        self.report.removed = sorted(set(prev_files) - {f.source for f in files})
        if not self.files_manifest:
            raise BuildError("没有可索引的文档" + ("：" + "；".join(f"{s.source}（{s.reason}）" for s in self.report.skipped[:5]) if self.report.skipped else ""))
        db.commit()
        self._encode(db, staging, needs)
        self._write_bm25(db, staging)
        self._count(db)
        db.close()
        if old_db is not None:
            old_db.close()
        store.write_manifest(staging, self._manifest())

    def _open_old_db(self) -> sqlite3.Connection | None:
        if self.previous is None:
            return None
        try:
            return sqlite3.connect(f"file:{self.index_dir / store.DB}?mode=ro", uri=True)
        except sqlite3.Error:
            return None

    def _next(self, table: str) -> int:
        row = self.rows[table]
        self.rows[table] += 1
        return row

    def _skip(self, f: CorpusFile, reason: str) -> None:
        self.report.skipped.append(SkippedFile(f.source, reason, f.sha256))
        self.skipped_manifest.append({"source": f.source, "reason": reason, "sha256": f.sha256})

    def _note_replacements(self, f: CorpusFile, text: str) -> None:
        replaced = text.count("\ufffd")
        if replaced:
            self.report.warnings.append(SkippedFile(
                f.source, f"有 {replaced} 个字符无法按其编码识别，已显示为 �（其余内容已索引）", f.sha256))

    def _insert_document(self, db, doc: ParsedDocument, chunks, f: CorpusFile, needs) -> None:
        m = doc.meta
        doc_id = doc_id_for(f.source)
        doc_row = self._next("documents")
        db.execute(
            "INSERT INTO documents (row, doc_id, source, sha256, title, org, doc_number, date, year, region,"
            " doc_type, n_sections, text, removed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc_row, doc_id, f.source, f.sha256, m.title, m.org, m.doc_number, m.date, m.year, m.region,
             m.doc_type, len(doc.sections), doc.text, json.dumps(doc.removed, ensure_ascii=False)),
        )
        section_rows = {}
        for s in doc.sections:
            section_rows[s.key] = self._next("sections")
            db.execute(
                "INSERT INTO sections (row, doc_row, key, path, start, end, parent, has_children)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (section_rows[s.key], doc_row, s.key, json.dumps(s.path, ensure_ascii=False), s.start, s.end,
                 s.parent, int(s.has_children)),
            )
        paths = {s.key: s.path for s in doc.sections}
        for ch in chunks:
            text_for_model = embed_text(m.title, paths[ch.section_key], ch.text)
            row, digest = self._next("chunks"), self._hash(text_for_model)
            with self.report.timed("words"):
                words = " ".join(tokenize(text_for_model))
            db.execute(
                "INSERT INTO chunks (row, doc_row, section_row, start, end, text, tokens, embed_hash)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (row, doc_row, section_rows[ch.section_key], ch.start, ch.end, ch.text, words, digest),
            )
            needs.append((row, digest))
        self.files_manifest[f.source] = {"sha256": f.sha256, "doc_id": doc_id, "title": m.title,
                                         "sections": len(doc.sections), "chunks": len(chunks)}
        warning = "；".join(w.reason for w in self.report.warnings if w.source == f.source)
        if warning:
            self.files_manifest[f.source]["warning"] = warning

    def _copy_document(self, db, old_db, doc_id: str, f: CorpusFile, needs) -> None:
        cols = "doc_id, source, sha256, title, org, doc_number, date, year, region, doc_type, n_sections, text, removed"
        old = old_db.execute(f"SELECT row, {cols} FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        doc_row = self._next("documents")
        db.execute(f"INSERT INTO documents (row, {cols}) VALUES ({','.join('?' * 14)})", (doc_row, *old[1:]))
        section_map = {}
        for r in old_db.execute("SELECT row, key, path, start, end, parent, has_children FROM sections"
                                " WHERE doc_row = ? ORDER BY row", (old[0],)).fetchall():
            section_map[r[0]] = self._next("sections")
            db.execute("INSERT INTO sections (row, doc_row, key, path, start, end, parent, has_children)"
                       " VALUES (?,?,?,?,?,?,?,?)", (section_map[r[0]], doc_row, *r[1:]))
        n_chunks = 0
        for r in old_db.execute("SELECT section_row, start, end, text, tokens, embed_hash FROM chunks"
                                " WHERE doc_row = ? ORDER BY row", (old[0],)).fetchall():
            row = self._next("chunks")
            db.execute("INSERT INTO chunks (row, doc_row, section_row, start, end, text, tokens, embed_hash)"
                       " VALUES (?,?,?,?,?,?,?,?)", (row, doc_row, section_map[r[0]], *r[1:]))
            needs.append((row, r[5]))
            n_chunks += 1
        self.files_manifest[f.source] = {"sha256": f.sha256, "doc_id": doc_id, "title": old[4],
                                         "sections": len(section_map), "chunks": n_chunks}
        old_entry = self.reusable["files"][f.source]
        warning = old_entry.get("warning")
        if old_entry.get("ocr_pages"):
            self.files_manifest[f.source]["ocr_pages"] = old_entry["ocr_pages"]
        if warning:
            self.files_manifest[f.source]["warning"] = warning
            self.report.warnings.append(SkippedFile(f.source, warning, f.sha256))

    def _hash(self, text: str) -> str:
        return hashlib.sha1(f"{self.model}\n{text}".encode()).hexdigest()

    # -- vectors -------------------------------------------------------------------

    def _old_vectors(self) -> tuple[dict[str, int], np.ndarray | None]:
        if self.previous is None or not self.reuse_vectors:
            return {}, None
        try:
            vectors = np.load(self.index_dir / store.VECTORS, mmap_mode="r")
            con = sqlite3.connect(f"file:{self.index_dir / store.DB}?mode=ro", uri=True)
            rows = dict(con.execute("SELECT embed_hash, row FROM chunks").fetchall())
            con.close()
            return rows, vectors
        except (OSError, ValueError, sqlite3.Error):
            return {}, None

    def _encode(self, db, staging: Path, needs: list[tuple[int, str]]) -> None:
        """Both models' vectors for the chunks that have none yet, then their FAISS indexes. When
        the m3e runtime can run one-thread sessions, blocks of both models share one-thread
        workers (indexer/workers.py); otherwise one model runs after the other."""
        dense, dense_todo = self._dense_start(staging, needs)
        use = self._second_start(db, staging, needs)
        pooled = not dense_todo or hasattr(self._embedder(), "single_threaded")
        streams = [self._dense_tasks(db, dense, dense_todo, pooled)]
        if use is not None:
            streams.append(self._second_tasks(db, use, pooled))
        self._encoding = [0, len(dense_todo) + (use.todo if use is not None else 0)]  # done, total: for the progress bar
        self.progress("向量化", 0, self._encoding[1])
        with self.report.timed("encode"):
            workers.run(streams, second.WORKERS if pooled else 1, self.report.stages)
        self.progress("向量化", self._encoding[1], self._encoding[1])
        dense.flush()
        self._write_dense(staging, dense)
        if use is not None:
            self.second = self._second_finish(staging, use)

    def _advance(self, n: int) -> None:
        self._encoding[0] += n
        self.progress("向量化", *self._encoding)

    def _dense_start(self, staging: Path, needs: list[tuple[int, str]]):
        """The m3e vectors file with every reusable vector copied in, and the rows still to embed."""
        cache, old_vectors = self._old_vectors()
        missing = [(row, h) for row, h in needs if h not in cache]
        dim = self._dimension(old_vectors, bool(missing))
        self.dimension = dim
        dense = _reserved_memmap(staging / store.VECTORS, dtype=np.float32, shape=(len(needs), dim))
        for row, h in needs:
            if h in cache:
                dense[row] = old_vectors[cache[h]]
        self.report.reused = len(needs) - len(missing)
        self.report.embedded = len(missing)
        return dense, missing

    def _dense_tasks(self, db, dense: np.ndarray, missing: list[tuple[int, str]], pooled: bool) -> Iterator[Task]:
        if not missing:
            return
        embedder = self._embedder().single_threaded() if pooled else self._embedder()
        missing = self._longest_first(db, missing)
        size = _block_size(len(missing), DENSE_BLOCK)
        for i in range(0, len(missing), size):
            rows = [row for row, _ in missing[i:i + size]]
            texts = self._embed_texts(db, rows)

            def done(encoded, rows=rows) -> None:
                dense[rows] = encoded
                self._advance(len(rows))

            yield Task("embed", lambda texts=texts: embedder.encode(texts, batch_size=EMBED_BATCH), done)

    @staticmethod
    def _longest_first(db, rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Rows by the length of the text the model sees (title, heading path, text), longest
        first, across the whole corpus: every block then holds texts of like length, so the
        encoder's batches carry little padding and its input shapes only shrink, as in one
        `encode` call over all texts; the progress bar's estimate errs on the long side."""
        length = {row: len(title) + len(" › ".join(json.loads(path))) + n + 2 for row, title, path, n in db.execute(
            "SELECT c.row, d.title, s.path, length(c.text) FROM chunks c JOIN sections s ON s.row = c.section_row"
            " JOIN documents d ON d.row = c.doc_row")}
        return sorted(rows, key=lambda r: -length.get(r[0], 0))

    def _dimension(self, old_vectors: np.ndarray | None, must_embed: bool) -> int:
        if old_vectors is not None and not must_embed and old_vectors.ndim == 2:
            return int(old_vectors.shape[1])
        return int(self._embedder().dimension)

    def _embedder(self) -> Embedder:
        if self.embedder is None:
            self.embedder = load_embedder(self.model)
        return self.embedder

    def _embed_texts(self, db, rows: list[int]) -> list[str]:
        marks = ",".join("?" * len(rows))
        found = db.execute(
            f"SELECT c.row, d.title, s.path, c.text FROM chunks c JOIN sections s ON s.row = c.section_row"
            f" JOIN documents d ON d.row = c.doc_row WHERE c.row IN ({marks})", rows).fetchall()
        by_row = {r[0]: embed_text(r[1], json.loads(r[2]), r[3]) for r in found}
        return [by_row[r] for r in rows]

    def _second_start(self, db, staging: Path, needs: list[tuple[int, str]]) -> _SecondFiles | None:
        """Memory-mapped files for second-model vectors of every chunk and every sentence, with
        the vectors of unchanged chunks kept; None when the second model is not installed."""
        if not second.available():
            return None
        old = self._old_second()
        n = len(needs)
        old_rows = [old["rows"].get(h) if old else None for _, h in needs]
        counts = np.zeros(n, dtype=np.int64)
        kept: dict[int, tuple[int, int]] = {}  # chunk row -> its span in the old sentence vectors
        for row, path, text in self._chunk_texts(db):
            if old_rows[row] is not None:
                a, b = np.searchsorted(old["owner"], [old_rows[row], old_rows[row] + 1])
                kept[row] = (int(a), int(b))
                counts[row] = b - a
            else:
                counts[row] = len(second.sentence_texts(json.loads(path)[-1], text))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        dim = second.DIMENSION
        files = _SecondFiles(
            chunks=_reserved_memmap(staging / store.USE_CHUNKS, dtype=np.float32, shape=(n, dim)),
            sentences=_reserved_memmap(staging / store.USE_SENTENCES, dtype=np.float16,
                                       shape=(int(offsets[-1]), dim)),
            offsets=offsets, kept=set(kept))
        np.save(staging / store.SENTENCE_CHUNK, np.repeat(np.arange(n, dtype=np.int32), counts))
        for row, (a, b) in kept.items():
            files.chunks[row] = old["chunks"][old_rows[row]]
            files.sentences[offsets[row]:offsets[row + 1]] = old["sentences"][a:b]
        return files

    def _second_tasks(self, db, files: _SecondFiles, pooled: bool) -> Iterator[Task]:
        """Blocks of chunks without second-model vectors, longest first, each with its sentences."""
        block: list[tuple[int, str, list[str]]] = []
        size = _block_size(files.todo, SECOND_BLOCK) if pooled else SECOND_BLOCK_ALONE
        for row, path, text in self._chunk_texts(db, longest_first=True):
            if row in files.kept:
                continue
            heading = json.loads(path)[-1]
            block.append((row, second.chunk_text(heading, text), second.sentence_texts(heading, text)))
            if len(block) >= size:
                yield self._second_task(files, block, pooled)
                block = []
        if block:
            yield self._second_task(files, block, pooled)

    def _second_task(self, files: _SecondFiles, block, pooled: bool) -> Task:
        texts = [t for _, t, _ in block] + [t for _, _, ts in block for t in ts]
        threads = 1 if pooled else second.WORKERS

        def done(both) -> None:
            files.chunks[[row for row, _, _ in block]] = both[:len(block)]
            encoded = both[len(block):].astype(np.float16)
            at = 0
            for row, _, ts in block:
                files.sentences[files.offsets[row]:files.offsets[row] + len(ts)] = encoded[at:at + len(ts)]
                at += len(ts)
            self._advance(len(block))

        return Task("second", lambda: second.encode(texts, workers=threads), done)

    def _second_finish(self, staging: Path, files: _SecondFiles) -> dict:
        files.chunks.flush()
        files.sentences.flush()
        with self.report.timed("ann"):
            index, params = vectors.build(files.chunks)
            self._write_faiss(index, staging / store.USE_INDEX)
            index, sentence_params = vectors.build(files.sentences, codec="fp16")
            self._write_faiss(index, staging / store.USE_SENTENCE_INDEX)
        return {"name": second.NAME, "dimension": second.DIMENSION, "chunks": len(files.chunks),
                "sentences": len(files.sentences), "index": params, "sentence_index": sentence_params}

    def _chunk_texts(self, db, longest_first: bool = False):
        order = "length(c.text) DESC, c.row" if longest_first else "c.row"  # long first: less padding
        yield from db.execute("SELECT c.row, s.path, c.text FROM chunks c JOIN sections s ON s.row = c.section_row"
                              f" ORDER BY {order}")

    def _old_second(self) -> dict | None:
        if self.previous is None or not self.reuse_vectors or (self.previous.get("second") or {}).get("name") != second.NAME:
            return None
        try:
            d = self.index_dir
            con = sqlite3.connect(f"file:{d / store.DB}?mode=ro", uri=True)
            rows = dict(con.execute("SELECT embed_hash, row FROM chunks").fetchall())
            con.close()
            return {"rows": rows, "chunks": np.load(d / store.USE_CHUNKS, mmap_mode="r"),
                    "sentences": np.load(d / store.USE_SENTENCES, mmap_mode="r"),
                    "owner": np.load(d / store.SENTENCE_CHUNK)}
        except (OSError, ValueError, sqlite3.Error):
            return None

    def _write_dense(self, staging: Path, chunk_vectors: np.ndarray) -> None:
        with self.report.timed("ann"):
            index, self.dense_params = vectors.build(chunk_vectors)
            self._write_faiss(index, staging / store.DENSE)

    @staticmethod
    def _write_faiss(index, path: Path) -> None:
        import faiss

        try:
            faiss.write_index(index, str(path))
        except RuntimeError as e:  # FAISS reports a failed write (a full disk) this way
            message = str(e)
            reason = next((why for marker, why in _FAISS_WRITE_REASONS if marker in message),
                          message.strip().splitlines()[-1][-200:])
            raise BuildError(f"写入向量索引失败（{reason}）：原索引保持不变") from e

    def _write_bm25(self, db, staging: Path) -> None:
        with self.report.timed("bm25"):
            self._bm25(db, staging)

    def _bm25(self, db, staging: Path) -> None:
        import bm25s

        self.progress("关键词索引", 0, 1)
        # Words as integer arrays, not lists of strings: a tenth of the memory on a large corpus.
        vocab: dict[str, int] = {}
        docs = [np.array([vocab.setdefault(w, len(vocab)) for w in t.split()], dtype=np.int32) if t
                else np.zeros(0, dtype=np.int32) for (t,) in db.execute("SELECT tokens FROM chunks ORDER BY row")]
        retriever = bm25s.BM25(**BM25_PARAMS)
        retriever.index((docs, vocab), show_progress=False)
        retriever.save(str(staging / store.BM25_DIR), show_progress=False)
        self.progress("关键词索引", 1, 1)

    def _count(self, db) -> None:
        self.report.documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
        self.report.sections = db.execute("SELECT count(*) FROM sections").fetchone()[0]
        self.report.chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def _manifest(self) -> dict:
        import bm25s
        import faiss

        now = datetime.now(UTC).isoformat(timespec="seconds")
        return {
            "format": store.FORMAT,
            "format_version": store.FORMAT_VERSION,
            "model": {"name": self.model, "dimension": self.dimension},
            "settings": self.settings,
            "dense": self.dense_params,
            "second": self.second,
            "retrieval": {"fusion": _default_fusion()},
            "counts": {"documents": self.report.documents, "sections": self.report.sections,
                       "chunks": self.report.chunks},
            "corpus": str(self.corpus),  # absolute: a server started elsewhere finds the same folder
            "files": self.files_manifest,
            "skipped": self.skipped_manifest,
            "build": {"time": now, "policyqa": VERSION, "embedded": self.report.embedded, "reused": self.report.reused,
                      "python": platform.python_version(), "faiss": faiss.__version__,
                      "bm25s": getattr(bm25s, "__version__", "")},
        }
