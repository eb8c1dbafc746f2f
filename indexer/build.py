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
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import limits, ocr, store
from .chunk import MAX_CHARS, OVERLAP, chunk_document
from .citations import citations
from .embed import DEFAULT_MODEL, Embedder
from .encoding import EncodingStage, damaged_vectors, embed_text
from .errors import os_reason
from .fusion import Fusion
from .parse import parse_text
from .read import CorpusFile, SkippedFile, UnreadableFile, discover
from .reader_process import ReaderProcess
from .records import ParsedDocument
from .report import BuildError, BuildReport, BuildStopped, write_problem
from .tokenize import tokenize
from .workers import Task

VERSION = "0.1.0"
# Bump when cleaning, structure or chunking changes what a file turns into.
PIPELINE_VERSION = 12
WORDS_BLOCK = 256  # chunks per words task
BM25_PARAMS = {"k1": 1.2, "b": 0.75}
Progress = Callable[[str, int, int], None]


def doc_id_for(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]


def _settings(model: str, max_chars: int, overlap: int) -> dict:
    return {"pipeline": PIPELINE_VERSION, "model": model, "max_chars": max_chars, "overlap": overlap,
            "bm25": BM25_PARAMS}


def _citations(db) -> dict[str, int]:
    """The cited documents and articles (indexer.citations.citations) of the staged index."""
    docs = db.execute("SELECT row, doc_id, title, text FROM documents ORDER BY row").fetchall()
    at = {row: i for i, (row, *_) in enumerate(docs)}
    labels: list[dict[str, list[str]]] = [{} for _ in docs]
    for doc_row, key, path in db.execute("SELECT doc_row, key, path FROM sections"):
        heads = json.loads(path)
        if heads and doc_row in at:
            labels[at[doc_row]].setdefault(heads[-1], []).append(key)
    return citations([d[1] for d in docs], [d[2] for d in docs], [d[3] for d in docs], labels)


def _default_fusion() -> dict:
    """The fusion weights searches of this index use (tuned with bench/tune_fusion.py)."""
    return Fusion().to_dict()


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
        if same_settings and _unchanged(old, files, skipped) and not damaged_vectors(index_dir, old):
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


class _Builder(EncodingStage):
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
        self.words_todo: list[int] = []  # new chunks still without their BM25 words
        self.second: dict | None = None
        self.citations: dict[str, int] = {}
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
        with ReaderProcess() as reader:
            for n, f in enumerate(files):
                self.progress("解析", n, len(files))
                old_entry = (self.reusable or {}).get("files", {}).get(f.source)
                if old_entry and old_entry["sha256"] == f.sha256 and old_db is not None:
                    self._copy_document(db, old_db, old_entry["doc_id"], f, needs)
                    self.report.unchanged += 1
                    continue
                self._read_one(db, reader, f, needs, f.source in prev_files)
        self.progress("解析", len(files), len(files))
        self.report.removed = sorted(set(prev_files) - {f.source for f in files})
        if not self.files_manifest:
            raise BuildError("没有可索引的文档" + ("：" + "；".join(f"{s.source}（{s.reason}）" for s in self.report.skipped[:5]) if self.report.skipped else ""))
        db.commit()
        self._encode(db, staging, needs, also=[self._word_tasks(db)])
        db.commit()  # the words
        self._write_bm25(db, staging)
        self._count(db)
        self.citations = _citations(db)
        db.close()
        if old_db is not None:
            old_db.close()
        store.write_manifest(staging, self._manifest())

    def _read_one(self, db, reader: ReaderProcess, f: CorpusFile, needs, changed: bool) -> None:
        """Read, parse and store one new or changed file; a file that cannot be read is skipped."""
        try:
            with self.report.timed("parse"), ocr.session(self.use_ocr, self.progress) as scan:
                doc = parse_text(reader.read(f.path), f.source)
                chunks = chunk_document(doc, self.max_chars, self.overlap)
                limits.check_chunks(len(chunks))
        except UnreadableFile as e:
            self._skip(f, str(e))
            return
        except BuildError:
            raise  # the process is stopping
        except Exception as e:  # a parser bug must not sink the whole corpus
            self._skip(f, f"解析失败：{type(e).__name__}: {e}")
            return
        self._note_replacements(f, doc.text)
        self.report.warnings += [SkippedFile(f.source, n, f.sha256) for n in scan.notes]
        with self.report.timed("store"):
            self._insert_document(db, doc, chunks, f, needs)
        if scan.pages:
            self.files_manifest[f.source]["ocr_pages"] = scan.pages
        self.report.characters += len(doc.text)
        (self.report.changed if changed else self.report.added).append(f.source)

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
            " doc_type, n_sections, text, removed, facts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc_row, doc_id, f.source, f.sha256, m.title, m.org, m.doc_number, m.date, m.year, m.region,
             m.doc_type, len(doc.sections), doc.text, json.dumps(doc.removed, ensure_ascii=False),
             json.dumps({"places": m.places, "lifecycle": m.lifecycle, "headline": m.headline or m.title},
                        ensure_ascii=False)),
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
            text_for_model = embed_text(m.headline or m.title, paths[ch.section_key], ch.text)
            row, digest = self._next("chunks"), self._hash(text_for_model)
            db.execute(  # its words come later, on the encoders' workers (_word_tasks)
                "INSERT INTO chunks (row, doc_row, section_row, start, end, text, tokens, embed_hash)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (row, doc_row, section_rows[ch.section_key], ch.start, ch.end, ch.text, None, digest),
            )
            needs.append((row, digest))
            self.words_todo.append(row)
        self.files_manifest[f.source] = {"sha256": f.sha256, "doc_id": doc_id, "title": m.title,
                                         "sections": len(doc.sections), "chunks": len(chunks)}
        warning = "；".join(w.reason for w in self.report.warnings if w.source == f.source)
        if warning:
            self.files_manifest[f.source]["warning"] = warning

    def _copy_document(self, db, old_db, doc_id: str, f: CorpusFile, needs) -> None:
        cols = ("doc_id, source, sha256, title, org, doc_number, date, year, region, doc_type, n_sections, text, removed,"
                " facts")
        old = old_db.execute(f"SELECT row, {cols} FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        doc_row = self._next("documents")
        db.execute(f"INSERT INTO documents (row, {cols}) VALUES ({','.join('?' * 15)})", (doc_row, *old[1:]))
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

    def _word_tasks(self, db) -> Iterator[Task]:
        """The BM25 words of the new chunks, in blocks for the encoders' workers: jieba then runs
        beside the models instead of before them, with a core idle."""
        for i in range(0, len(self.words_todo), WORDS_BLOCK):
            rows = self.words_todo[i:i + WORDS_BLOCK]
            texts = self._embed_texts(db, rows)

            def done(words: list[str], rows=rows) -> None:
                db.executemany("UPDATE chunks SET tokens = ? WHERE row = ?", zip(words, rows))

            yield Task("words", lambda texts=texts: [" ".join(tokenize(t)) for t in texts], done)

    def _hash(self, text: str) -> str:
        return hashlib.sha1(f"{self.model}\n{text}".encode()).hexdigest()

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
            "citations": self.citations,
            "counts": {"documents": self.report.documents, "sections": self.report.sections,
                       "chunks": self.report.chunks},
            "corpus": str(self.corpus),  # absolute: a server started elsewhere finds the same folder
            "files": self.files_manifest,
            "skipped": self.skipped_manifest,
            "build": {"time": now, "policyqa": VERSION, "embedded": self.report.embedded, "reused": self.report.reused,
                      "python": platform.python_version(), "faiss": faiss.__version__,
                      "bm25s": getattr(bm25s, "__version__", "")},
        }
