"""A second search backend written only against `assistant.search.engine.SearchEngine`: documents
held in memory, sections from the indexer's parser, passages ranked by shared words.
It stands in for an OpenSearch/Milvus backend in tests: if the assistant works on it,
the assistant does not reach into the local index."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.search.retrieve import Filters, SearchResult
from indexer.build import doc_id_for
from indexer.chunk import chunk_document
from indexer.embed import FakeEmbedder
from indexer.parse import parse_text
from indexer.store import DocumentRow, SectionRow
from indexer.tokenize import tokenize


class MemoryEngine:
    def __init__(self, texts: dict[str, str]):
        self._embedder = FakeEmbedder()
        self._docs: list[DocumentRow] = []
        self._text: dict[str, str] = {}
        self._sections: dict[str, list[SectionRow]] = {}
        self._chunks: list[tuple[DocumentRow, SectionRow, str, int, int]] = []
        for source, raw in sorted(texts.items()):
            doc = parse_text(raw, source)
            row = DocumentRow(len(self._docs), doc_id_for(source), source, "", doc.meta.title, doc.meta.org,
                              doc.meta.doc_number, doc.meta.date, doc.meta.year, doc.meta.region,
                              doc.meta.doc_type, len(doc.sections))
            self._docs.append(row)
            self._text[row.doc_id] = doc.text
            chunks = chunk_document(doc)
            with_text = {c.section_key for c in chunks}
            sections = {s.key: SectionRow(i, row.row, s.key, s.path, s.start, s.end, s.parent, s.has_children,
                                          s.key in with_text) for i, s in enumerate(doc.sections)}
            self._sections[row.doc_id] = list(sections.values())
            self._chunks += [(row, sections[c.section_key], c.text, c.start, c.end) for c in chunks]

    # -- SearchEngine ------------------------------------------------------------------

    manifest = {"model": {"name": "memory"}, "engine": "memory"}
    model_name = "memory"

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[SearchResult]:
        words = set(tokenize(query))
        allowed = self.in_scope(filters)
        scored = []
        for doc, section, text, start, end in self._chunks:
            if allowed is not None and doc.doc_id not in allowed:
                continue
            hay = doc.title + "".join(section.path) + text
            score = sum(len(w) for w in words if w in hay)
            if score:
                scored.append((score, doc, section, text, start, end))
        scored.sort(key=lambda x: -x[0])
        results, seen = [], set()
        for score, doc, section, text, start, end in scored:
            if (doc.doc_id, section.key) in seen:
                continue
            seen.add((doc.doc_id, section.key))
            results.append(SearchResult(
                rank=len(results) + 1, score=score / max(1, sum(len(w) for w in words)), doc_id=doc.doc_id,
                title=doc.title, source=doc.source, year=doc.year, region=doc.region,
                section_id=f"{doc.doc_id}#{section.key}", section_path=section.path, text=text, start=start,
                end=end, doc_type=doc.doc_type, org=doc.org, doc_number=doc.doc_number, date=doc.date,
                dense=float(self.encode([query])[0] @ self.encode([text])[0])))
            if len(results) == k:
                break
        return results

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._embedder.encode(texts)

    def documents(self) -> list[DocumentRow]:
        return list(self._docs)

    def document(self, doc_id: str) -> DocumentRow | None:
        return next((d for d in self._docs if d.doc_id == doc_id), None)

    def document_text(self, doc_id: str) -> str:
        return self._text.get(doc_id, "")

    def sections(self, doc_id: str) -> list[SectionRow]:
        return list(self._sections.get(doc_id, []))

    def section(self, section_id: str) -> SectionRow | None:
        doc_id, _, key = section_id.partition("#")
        return next((s for s in self._sections.get(doc_id, []) if s.key == key), None)

    def in_scope(self, filters: Filters | None) -> set[str] | None:
        if not filters:
            return None
        return {d.doc_id for d in self._docs
                if (not filters.years or d.year in filters.years)
                and (not filters.regions or any(d.region.startswith(r) for r in filters.regions))
                and (not filters.docs or any(f in (d.doc_id, d.source) or f in d.title for f in filters.docs))}

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        df: dict[str, int] = {}
        for _, _, text, _, _ in self._chunks:
            for w in set(tokenize(text)):
                df[w] = df.get(w, 0) + 1
        return df, len(self._chunks)

    def close(self) -> None:
        pass


def open_engine(location: str, model: str | None = None) -> MemoryEngine:
    """`memory:///path/to/folder`: every .txt file of the folder."""
    folder = Path(location.split("://", 1)[1])
    return MemoryEngine({p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.txt")})
