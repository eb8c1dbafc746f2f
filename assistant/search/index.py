"""An index directory loaded for searching: FAISS, BM25, and the rows that map
chunks to sections and documents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer import store, vectors
from indexer.store import DocumentRow, IndexDamaged, SectionRow

from .postings import Postings, load_postings


@dataclass
class PolicyIndex:
    path: Path
    manifest: dict
    store: store.Store
    dense: object  # faiss.Index
    bm25: Postings
    chunk_doc: np.ndarray
    chunk_section: np.ndarray
    documents: list[DocumentRow]
    sections: list[SectionRow]
    vectors: np.ndarray | None = None  # chunk embeddings (memory-mapped)
    use_chunks: np.ndarray | None = None  # the second embedding, when the index has it
    use_sentences: np.ndarray | None = None
    sentence_chunk: np.ndarray | None = None
    use_index: object = None  # FAISS index over use_chunks
    sentence_index: object = None  # FAISS index over use_sentences (indexes from before it have none)
    chunk_start: np.ndarray | None = None  # each chunk's offsets in its document's text
    chunk_end: np.ndarray | None = None

    @property
    def dense_params(self) -> dict:
        return self.manifest.get("dense") or {"type": "flat"}

    @property
    def use_params(self) -> dict:
        return (self.manifest.get("second") or {}).get("index") or {"type": "flat"}

    @property
    def sentence_params(self) -> dict:
        return (self.manifest.get("second") or {}).get("sentence_index") or {"type": "flat"}

    @property
    def model_name(self) -> str:
        return self.manifest.get("model", {}).get("name", "")

    @property
    def size(self) -> int:
        return len(self.chunk_doc)

    def chunk_spans(self) -> tuple[np.ndarray, np.ndarray]:
        if self.chunk_start is None:
            _, _, self.chunk_start, self.chunk_end = self.store.chunk_rows()
        return self.chunk_start, self.chunk_end

    def document(self, doc_id: str) -> DocumentRow | None:
        row = self._doc_rows.get(doc_id)
        return None if row is None else self.documents[row]

    def sections_of(self, doc_row: int) -> list[SectionRow]:
        """A document's sections in reading order."""
        return self._by_doc.get(doc_row, [])

    def section_by_id(self, section_id: str) -> SectionRow | None:
        doc_id, _, key = section_id.partition("#")
        doc = self.document(doc_id)
        if doc is None:
            return None
        return next((s for s in self.sections_of(doc.row) if s.key == key), None)

    def __post_init__(self) -> None:
        self._doc_rows = {d.doc_id: d.row for d in self.documents}
        self._by_doc: dict[int, list[SectionRow]] = {}
        with_text = set(np.unique(self.chunk_section).tolist())
        for s in self.sections:
            s.has_text = s.row in with_text
            self._by_doc.setdefault(s.doc_row, []).append(s)
        for group in self._by_doc.values():
            group.sort(key=lambda s: (s.start, s.row))

    def section_id(self, section: SectionRow) -> str:
        return f"{self.documents[section.doc_row].doc_id}#{section.key}"

    def close(self) -> None:
        self.store.close()


def load_index(path: Path, model: str | None = None) -> PolicyIndex:
    """Load and check an index; IndexProblem subclasses say what is wrong and what to run.

    What can be checked cheaply is checked here, so damage that keeps a file's size (NaN
    vectors, a garbage sentence map) is refused with the rebuild command instead of giving
    wrong results: shapes against the counts, sentence rows ascending and in range, and every
    row of every vector file finite and of unit length.
    """
    path = Path(path)
    manifest = store.read_manifest(path)
    store.check_model(path, manifest, model)
    store.check_files(path, manifest)
    hint = store.rebuild_hint(path, manifest.get("corpus"))
    db = store.Store(path / store.DB)
    try:
        index = _load_parts(path, manifest, db, hint)
    except BaseException:
        db.close()
        raise
    return index


def _damaged(path: Path, name: str, hint: str, what: str = "已损坏，无法读取") -> IndexDamaged:
    return IndexDamaged(f"索引文件 {path / name} {what}。请重建：{hint}")


def _part(path: Path, name: str, hint: str, load):
    """Load one file of the index; any failure names the file and the rebuild command."""
    try:
        return load()
    except IndexDamaged:
        raise
    except Exception as e:
        raise _damaged(path, name, hint) from e


def _load_parts(path: Path, manifest: dict, db: store.Store, hint: str) -> PolicyIndex:
    dense = _part(path, store.DENSE, hint, lambda: _load_faiss(path / store.DENSE))
    bm25 = _part(path, store.BM25_DIR, hint, lambda: load_postings(path / store.BM25_DIR))
    chunk_doc, chunk_section, chunk_start, chunk_end = _part(path, store.DB, hint, db.chunk_rows)
    documents = _part(path, store.DB, hint, db.documents)
    sections = _part(path, store.DB, hint, db.sections)
    n = len(chunk_doc)
    if dense.ntotal != n or manifest["counts"].get("chunks", n) != n:
        raise _damaged(path, store.DENSE, hint, "的向量数与文本块数不一致")
    index = PolicyIndex(path, manifest, db, dense, bm25, chunk_doc, chunk_section, documents, sections)
    index.chunk_start, index.chunk_end = chunk_start, chunk_end
    dim = manifest["model"].get("dimension") or dense.d
    index.vectors = _vectors(path, store.VECTORS, hint, (n, dim))
    _part(path, store.DENSE, hint, lambda: vectors.configure(dense, index.dense_params))
    if manifest.get("second"):
        use_dim = manifest["second"].get("dimension")
        index.use_chunks = _vectors(path, store.USE_CHUNKS, hint, (n, use_dim))
        index.use_sentences = _vectors(path, store.USE_SENTENCES, hint, (None, use_dim))
        index.sentence_chunk = _sentence_map(path, hint, n, len(index.use_sentences))
        index.use_index = _faiss_of(path, store.USE_INDEX, hint, n, index.use_params)
        if (path / store.USE_SENTENCE_INDEX).exists():
            index.sentence_index = _faiss_of(path, store.USE_SENTENCE_INDEX, hint, len(index.use_sentences),
                                             index.sentence_params)
    return index


def _vectors(path: Path, name: str, hint: str, shape: tuple[int | None, int | None]) -> np.ndarray:
    """A memory-mapped vector file of the expected shape whose every row is finite and of unit
    length (the models' vectors are normalised)."""
    array = _part(path, name, hint, lambda: np.load(path / name, mmap_mode="r", allow_pickle=False))
    if array.ndim != 2 or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        raise _damaged(path, name, hint, f"的形状 {tuple(array.shape)} 与索引不符")
    bad = vectors.damaged_rows(array)
    if len(bad):
        raise _damaged(path, name, hint, f"中有无效的向量（非数值、零或长度不对）：{vectors.describe_rows(bad)}")
    return array


def _sentence_map(path: Path, hint: str, chunks: int, sentences: int) -> np.ndarray:
    owner = _part(path, store.SENTENCE_CHUNK, hint,
                  lambda: np.load(path / store.SENTENCE_CHUNK, allow_pickle=False))
    if owner.ndim != 1 or len(owner) != sentences or owner.dtype.kind not in "iu":
        raise _damaged(path, store.SENTENCE_CHUNK, hint, "与句向量的行数或类型不符")
    if len(owner) and (int(owner.min()) < 0 or int(owner.max()) >= chunks or (np.diff(owner) < 0).any()):
        raise _damaged(path, store.SENTENCE_CHUNK, hint, "中的文本块编号无效")
    return owner


def _faiss_of(path: Path, name: str, hint: str, rows: int, params: dict):
    index = _part(path, name, hint, lambda: _load_faiss(path / name))
    if index.ntotal != rows:
        raise _damaged(path, name, hint, "的向量数与索引不符")
    _part(path, name, hint, lambda: vectors.configure(index, params))
    return index


def _load_faiss(path: Path):
    import faiss

    # Vectors are mapped from the file, not copied: start-up does not wait for a read of the
    # whole index (25 s at a million chunks) and processes serving one index share the pages.
    # Builds never rewrite a file in place (they swap in a new directory), so the mapping stays valid.
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
