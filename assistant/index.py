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
    """Load and check an index; IndexProblem subclasses say what is wrong and what to run."""
    path = Path(path)
    manifest = store.read_manifest(path)
    store.check_model(path, manifest, model)
    store.check_files(path, manifest)
    db = store.Store(path / store.DB)
    try:
        dense = _load_faiss(path / store.DENSE)
        bm25 = load_postings(path / store.BM25_DIR)
        chunk_doc, chunk_section = db.chunk_rows()
        documents = db.documents()
        sections = db.sections()
    except IndexDamaged:
        db.close()
        raise
    except Exception as e:
        db.close()
        raise IndexDamaged(f"索引 {path} 已损坏（{type(e).__name__}: {e}）。请重建：{store.rebuild_hint(path, manifest.get('corpus'))}") from e
    expected = manifest.get("counts", {}).get("chunks")
    if dense.ntotal != len(chunk_doc) or (expected is not None and expected != len(chunk_doc)):
        db.close()
        raise IndexDamaged(f"索引 {path} 的向量数与文本块数不一致。请重建：{store.rebuild_hint(path, manifest.get('corpus'))}")
    index = PolicyIndex(path, manifest, db, dense, bm25, chunk_doc, chunk_section, documents, sections)
    try:
        index.vectors = np.load(path / store.VECTORS, mmap_mode="r")
        vectors.configure(dense, index.dense_params)
        if manifest.get("second"):
            index.use_chunks = np.load(path / store.USE_CHUNKS, mmap_mode="r")
            index.use_sentences = np.load(path / store.USE_SENTENCES, mmap_mode="r")
            index.sentence_chunk = np.load(path / store.SENTENCE_CHUNK)
            index.use_index = _load_faiss(path / store.USE_INDEX)
            vectors.configure(index.use_index, index.use_params)
            if (path / store.USE_SENTENCE_INDEX).exists():
                index.sentence_index = _load_faiss(path / store.USE_SENTENCE_INDEX)
                vectors.configure(index.sentence_index, index.sentence_params)
    except (OSError, ValueError) as e:
        db.close()
        raise IndexDamaged(f"索引 {path} 的向量文件已损坏（{e}）。请重建：{store.rebuild_hint(path, manifest.get('corpus'))}") from e
    if len(index.vectors) != len(chunk_doc) or (index.use_chunks is not None and len(index.use_chunks) != len(chunk_doc)):
        db.close()
        raise IndexDamaged(f"索引 {path} 的向量数与文本块数不一致。请重建：{store.rebuild_hint(path, manifest.get('corpus'))}")
    return index


def _load_faiss(path: Path):
    import faiss

    # Vectors are mapped from the file, not copied: start-up does not wait for a read of the
    # whole index (25 s at a million chunks) and processes serving one index share the pages.
    # Builds never rewrite a file in place (they swap in a new directory), so the mapping stays valid.
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)

