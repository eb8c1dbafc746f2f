"""The build's encoding stage: both models over the chunks (and the second over every sentence)
on the shared one-thread workers, vectors reused for unchanged text, written to memory maps,
and the FAISS indexes over them. A mixin of the builder in build.py, which owns the state."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import second, store, vectors, workers
from .chinese import to_simplified
from .embed import BATCH, Embedder, load_embedder
from .report import _FAISS_WRITE_REASONS, BuildError
from .workers import Task

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


def _reserved_memmap(path: Path, dtype, shape: tuple[int, int]) -> np.ndarray:
    """A memory-mapped .npy file whose disk space is reserved at once: a full disk then fails
    here as an OSError, instead of killing the process with SIGBUS when the map is written."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    with open(path, "r+b") as f:
        os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
    return array


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


def _copy_of(first: dict, key, row: int) -> int | None:
    """The earlier row of the same text (`key`), or None if `row` is the first (then remembered)."""
    seen = first.setdefault(key, row)
    return None if seen == row else seen


def _first_of_each(missing: list[tuple[int, str]], copies: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """The rows to encode, one per text hash; each other row of a hash goes to `copies` with the
    row it copies."""
    first: dict[str, int] = {}
    kept = []
    for row, h in missing:
        seen = _copy_of(first, h, row)
        if seen is None:
            kept.append((row, h))
        else:
            copies.append((row, seen))
    return kept


def _block_size(items: int, largest: int) -> int:
    """Blocks of at most `largest`, but enough of them to give every worker several; whole batches."""
    per_block = -(-items // (BLOCKS_PER_WORKER * second.WORKERS))
    return max(EMBED_BATCH, min(largest, -(-per_block // EMBED_BATCH) * EMBED_BATCH))


def headline(title: str, facts: str | None) -> str:
    """The title line the models see with a document's chunks (indexer.records.DocMeta.headline)."""
    try:
        return (json.loads(facts) if facts else {}).get("headline") or title
    except (ValueError, AttributeError):
        return title


def embed_text(title: str, path: list[str], text: str) -> str:
    """What the model and BM25 see: the title and heading path give a chunk its context;
    traditional characters are made simplified, as queries are."""
    return to_simplified(f"{title}\n{' › '.join(path)}\n{text}")


def damaged_vectors(index_dir: Path, manifest: dict) -> int:
    """Damaged rows in an index's vector files: an unchanged corpus is built again to mend them."""
    names = [store.VECTORS] + ([store.USE_CHUNKS, store.USE_SENTENCES] if manifest.get("second") else [])
    try:
        return sum(len(vectors.damaged_rows(np.load(Path(index_dir) / name, mmap_mode="r"))) for name in names)
    except (OSError, ValueError):
        return 1  # unreadable: the build reads it again and recomputes what it cannot reuse


class EncodingStage:
    # -- vectors -------------------------------------------------------------------

    def _old_vectors(self) -> tuple[dict[str, int], np.ndarray | None]:
        """The previous index's m3e vectors by text hash, without its damaged rows (they are
        computed again, not copied forward)."""
        if self.previous is None or not self.reuse_vectors:
            return {}, None
        try:
            old = np.load(self.index_dir / store.VECTORS, mmap_mode="r")
            con = sqlite3.connect(f"file:{self.index_dir / store.DB}?mode=ro", uri=True)
            rows = dict(con.execute("SELECT embed_hash, row FROM chunks").fetchall())
            con.close()
        except (OSError, ValueError, sqlite3.Error):
            return {}, None
        bad = set(vectors.damaged_rows(old).tolist())
        self.report.repaired += len(bad)
        return {h: row for h, row in rows.items() if row not in bad}, old

    def _encode(self, db, staging: Path, needs: list[tuple[int, str]], also: list[Iterator[Task]] = ()) -> None:
        """Both models' vectors for the chunks that have none yet, then their FAISS indexes. When
        the m3e runtime can run one-thread sessions, blocks of both models, and the tasks of
        `also`, share one-thread workers (indexer/workers.py); otherwise one runs after the other."""
        dense, dense_todo = self._dense_start(staging, needs)
        use = self._second_start(db, staging, needs)
        pooled = not dense_todo or hasattr(self._embedder(), "single_threaded")
        self._encoding = [0, len(dense_todo) + (use.todo if use is not None else 0)]  # done, total: for the progress bar
        self.progress("向量化", 0, self._encoding[1])
        # A text that occurs again (a notice reposted, an article in two versions of a law) is
        # encoded once; its other chunks get copies of the vectors when all are done.
        dense_copies: list[tuple[int, int]] = []
        second_copies: list[tuple[int, int]] = []
        streams = [self._dense_tasks(db, dense, _first_of_each(dense_todo, dense_copies), pooled)]
        if use is not None:
            streams.append(self._second_tasks(db, use, pooled, second_copies))
        streams += also
        self._advance(len(dense_copies))
        with self.report.timed("encode"):
            workers.run(streams, second.WORKERS if pooled else 1, self.report.stages)
        for row, first in dense_copies:
            dense[row] = dense[first]
        if use is not None:
            for row, first in second_copies:
                use.chunks[row] = use.chunks[first]
                use.sentences[use.offsets[row]:use.offsets[row + 1]] = use.sentences[use.offsets[first]:use.offsets[first + 1]]
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
            f"SELECT c.row, d.title, s.path, c.text, d.facts FROM chunks c JOIN sections s ON s.row = c.section_row"
            f" JOIN documents d ON d.row = c.doc_row WHERE c.row IN ({marks})", rows).fetchall()
        by_row = {r[0]: embed_text(headline(r[1], r[4]), json.loads(r[2]), r[3]) for r in found}
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

    def _second_tasks(self, db, files: _SecondFiles, pooled: bool, copies: list[tuple[int, int]]) -> Iterator[Task]:
        """Blocks of chunks without second-model vectors, longest first, each with its sentences;
        a chunk of the same heading and text as an earlier one goes to `copies` instead."""
        block: list[tuple[int, str, str]] = []  # row, heading, text
        size = _block_size(files.todo, SECOND_BLOCK) if pooled else SECOND_BLOCK_ALONE
        first: dict[tuple[str, str], int] = {}
        for row, path, text in self._chunk_texts(db, longest_first=True):
            if row in files.kept:
                continue
            heading = json.loads(path)[-1]
            seen = _copy_of(first, (heading, text), row)
            if seen is not None:
                copies.append((row, seen))
                self._advance(1)
                continue
            block.append((row, heading, text))
            if len(block) >= size:
                yield self._second_task(files, block, pooled)
                block = []
        if block:
            yield self._second_task(files, block, pooled)

    def _second_task(self, files: _SecondFiles, block, pooled: bool) -> Task:
        threads = 1 if pooled else second.WORKERS

        def done(encoded) -> None:
            chunk_vectors, sentence_vectors = encoded
            files.chunks[[row for row, _, _ in block]] = chunk_vectors
            for (row, _, _), theirs in zip(block, sentence_vectors):
                files.sentences[files.offsets[row]:files.offsets[row] + len(theirs)] = theirs.astype(np.float16)
            self._advance(len(block))

        return Task("second", lambda: second.encode_chunks([(h, t) for _, h, t in block], workers=threads), done)

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
            old = {"rows": rows, "chunks": np.load(d / store.USE_CHUNKS, mmap_mode="r"),
                   "sentences": np.load(d / store.USE_SENTENCES, mmap_mode="r"),
                   "owner": np.load(d / store.SENTENCE_CHUNK)}
        except (OSError, ValueError, sqlite3.Error):
            return None
        # A chunk whose vector or one of whose sentences' vectors is damaged is encoded again.
        bad_chunks, bad_sentences = vectors.damaged_rows(old["chunks"]), vectors.damaged_rows(old["sentences"])
        self.report.repaired += len(bad_chunks) + len(bad_sentences)
        bad = set(bad_chunks.tolist()) | set(old["owner"][bad_sentences[bad_sentences < len(old["owner"])]].tolist())
        old["rows"] = {h: row for h, row in rows.items() if row not in bad}
        return old

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
