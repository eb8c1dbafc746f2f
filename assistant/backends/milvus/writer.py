"""`policyqa index CORPUS --to milvus://HOST:PORT/NAME`: the same parsing, cleaning, structure
and encoding as a local build, then the rows upserted into Milvus.

The local build runs into a mirror folder kept in the cache (one per target), so vectors of
unchanged chunks are reused and an unchanged corpus writes nothing. Against the documents
Milvus holds (by file hash): a new or changed document's rows are written under the new
generation, a removed document's retired; the manifest row is committed last (see schema.py),
and the older rows of replaced documents deleted after it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from indexer import second, store
from indexer.build import BM25_PARAMS, BuildReport, build_index
from indexer.cache import policyqa_cache

from .schema import (
    DUMMY,
    FORMAT_VERSION,
    PARTITIONS,
    TEXT_PART,
    MilvusProblem,
    Target,
    check_server,
    claim_writer,
    connect,
    create_collections,
    index_for,
    layout,
    parse,
    query_all,
    read_citations,
    read_meta,
    reindex,
    release_writer,
    renew_writer,
    write_citations,
    write_meta,
)

BATCH = 256  # rows per insert
RENEW_SECONDS = 60  # how often a long write renews its writer lease


def word_key(word: str) -> int:
    """A word's dimension in the BM25 sparse vectors: stable across builds and machines."""
    return zlib.crc32(word.encode("utf-8"))


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))  # bm25s "lucene", as the local index


def term_weights(words: list[str], avgdl: float) -> dict[int, float]:
    """A chunk's BM25 term-frequency weights (k1, b as the local index), by word key."""
    k1, b = BM25_PARAMS["k1"], BM25_PARAMS["b"]
    counts = Counter(words)
    dl = len(words)
    norm = k1 * ((1 - b) + b * dl / max(avgdl, 1e-9))
    return {word_key(w): tf / (norm + tf) for w, tf in counts.items()}


def mirror_of(target: Target) -> Path:
    return policyqa_cache() / "milvus" / f"{target.host}-{target.port}-{target.name}" / "index"


def publish(corpus: Path, location: str, model: str | None = None, rebuild: bool = False, progress=None,
            **build) -> BuildReport:
    target = parse(location)
    client = connect(target)
    check_server(client, target)
    meta = _meta_or_problem(client, target)
    mirror = mirror_of(target)
    report = build_index(Path(corpus), mirror, model=model, rebuild=rebuild, progress=progress, **build)
    report.index_dir = location
    from assistant.search.index import load_index

    index = load_index(mirror)
    started = time.monotonic()
    try:
        _check_compatible(meta, index.manifest, location)
        written = _Writer(client, target, index, meta, progress).run(rebuild)
    finally:
        index.close()
    # What Milvus received, which can differ from what the mirror rebuilt (a library emptied
    # elsewhere, a mirror lost with the cache).
    report.up_to_date = written is None
    if written is not None:
        report.added, report.changed, report.removed = written
        report.unchanged = report.documents - len(report.added) - len(report.changed)
        report.stages["milvus"] = time.monotonic() - started
        report.seconds += report.stages["milvus"]
    return report


def _meta_or_problem(client, target: Target) -> dict | None:
    try:
        return read_meta(client, target)
    except Exception as e:
        raise MilvusProblem(f"无法读取 Milvus 中的库 {target.name}（{target.uri}）：{type(e).__name__}: {e}") from e


def _check_compatible(meta: dict | None, manifest: dict, location: str) -> None:
    if meta is None:
        return
    if meta.get("format_version") != FORMAT_VERSION:
        raise store.IndexMismatch(f"Milvus 中的库 {location} 格式版本为 {meta.get('format_version')}，当前程序需要 "
                                  f"{FORMAT_VERSION}：请换一个库名，或删除该库的集合后重建")
    built, wanted = meta.get("model", {}), manifest.get("model", {})
    if built.get("name") != wanted.get("name") or built.get("dimension") != wanted.get("dimension"):
        raise store.IndexMismatch(f"Milvus 中的库 {location} 由模型“{built.get('name')}”（{built.get('dimension')} 维）"
                                  f"建立，而本次是“{wanted.get('name')}”（{wanted.get('dimension')} 维）：请用相同模型，或换一个库名")


class _Writer:
    def __init__(self, client, target: Target, index, meta: dict | None, progress):
        self.client, self.target, self.index, self.meta = client, target, index, meta
        self.progress = progress or (lambda stage, done, total: None)
        self._sources: dict[str, str] = {}
        self.me = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, rebuild: bool) -> tuple[list[str], list[str], list[str]] | None:
        """Write what changed: the sources added, changed and removed (None: nothing to write)."""
        if self.meta is None:
            create_collections(self.client, self.target, self.index.vectors.shape[1], second.DIMENSION,
                               self._indexes())
        claim_writer(self.client, self.target, self.me)
        try:
            return self._write(rebuild)
        finally:
            release_writer(self.client, self.target)

    def _write(self, rebuild: bool) -> tuple[list[str], list[str], list[str]] | None:
        index, meta = self.index, self.meta
        if meta is not None:
            self._finish(meta)
            self._retier(meta, self._indexes())
        committed = meta["gen"] if meta else 0
        live = self._live_documents(meta)
        current = {d.doc_id: d for d in index.documents}
        changed = [d for d in index.documents if rebuild or live.get(d.doc_id) != d.sha256]
        removed = sorted(set(live) - set(current))
        if meta is not None and not changed and not removed:
            self._refresh_citations(meta)
            return None
        gen = committed + 1
        self._delete(f"gen > {committed}")  # rows of a build that failed before its commit
        avgdl, n = self._corpus_statistics()
        renewed = time.monotonic()
        for done, doc in enumerate(changed):
            self.progress("写入 Milvus", done, len(changed))
            self._write_document(doc, gen, avgdl)
            if time.monotonic() - renewed > RENEW_SECONDS:
                renew_writer(self.client, self.target, self.me)
                renewed = time.monotonic()
        self.progress("写入 Milvus", len(changed), len(changed))
        self._write_terms()
        retire = sorted({d.doc_id for d in changed if d.doc_id in live} | set(removed))
        new_meta = self._manifest(gen, retire, avgdl, n)
        new_meta["citation_rows"] = write_citations(self.client, self.target, index.manifest.get("citations") or {})
        write_meta(self.client, self.target, new_meta)  # the commit: from here readers see gen
        self._finish(new_meta)
        added = sorted(d.source for d in changed if d.doc_id not in live)
        replaced = sorted(d.source for d in changed if d.doc_id in live)
        return added, replaced, sorted(self._sources.get(doc_id, doc_id) for doc_id in removed)

    def _refresh_citations(self, meta: dict) -> None:
        """A library written by a version that counted citations otherwise (or not at all) gets
        this version's counts without a rewrite; engines opened from then on use them."""
        counts = self.index.manifest.get("citations") or {}
        if read_citations(self.client, self.target, meta) != counts:
            write_meta(self.client, self.target, {**meta, "citation_rows": write_citations(self.client, self.target, counts)})

    def _indexes(self) -> dict[str, dict]:
        return {"chunks": index_for(self.index.size), "sentences": index_for(len(self.index.sentence_chunk))}

    def _retier(self, meta: dict, indexes: dict[str, dict]) -> None:
        """Rebuild a collection's vector index when the library has grown into another tier."""
        before = meta.get("indexes") or {}
        for kind, wanted in indexes.items():
            if (before.get(kind) or {}).get("index_type") != wanted["index_type"]:
                reindex(self.client, self.target, kind, wanted)

    # -- what Milvus holds ------------------------------------------------------------------

    def _live_documents(self, meta: dict | None) -> dict[str, str]:
        if meta is None:
            return {}
        from .schema import visible

        rows = [(r["doc_id"], json.loads(r["data"])) for r in self._query("docs", visible(meta), ["doc_id", "data"])]
        self._sources = {doc_id: d["source"] for doc_id, d in rows}
        return {doc_id: d["sha256"] for doc_id, d in rows}

    def _query(self, kind: str, expr: str, fields: list[str]) -> list[dict]:
        return query_all(self.client, self.target.collection(kind), expr, fields)

    def _delete(self, expr: str) -> None:
        for kind in ("docs", "texts", "sections", "chunks", "sentences"):
            self.client.delete(self.target.collection(kind), filter=expr)

    def _finish(self, meta: dict) -> None:
        """Delete the retired rows of the last commit, then say so in the manifest."""
        retire = meta.get("retire") or []
        if retire:
            self._delete(f"doc_id in {json.dumps(retire, ensure_ascii=False)} and gen < {int(meta['gen'])}")
            write_meta(self.client, self.target, {**meta, "retire": []})

    # -- rows ---------------------------------------------------------------------------------

    def _corpus_statistics(self) -> tuple[float, int]:
        lengths = [len(t.split()) for (t,) in self.index.store.query("SELECT tokens FROM chunks")]
        return (sum(lengths) / max(1, len(lengths))), len(lengths)

    def _write_document(self, doc, gen: int, avgdl: float) -> None:
        index, c = self.index, self.client
        data = {k: getattr(doc, k) for k in ("source", "sha256", "title", "org", "doc_number", "date", "year", "region",
                                             "doc_type", "n_sections")}
        data["ocr_pages"] = (index.manifest.get("files", {}).get(doc.source) or {}).get("ocr_pages", 0)
        data["places"], data["lifecycle"] = doc.places, fitted(doc.lifecycle, DOC_DATA_CHARS)
        c.insert(self.target.collection("docs"), [{"id": f"{doc.doc_id}:{gen}", "doc_id": doc.doc_id, "gen": gen,
                                                   "data": json.dumps(data, ensure_ascii=False), "vec": [0.0] * DUMMY}])
        text = index.store.document_text(doc.row)
        parts = [text[i:i + TEXT_PART] for i in range(0, max(1, len(text)), TEXT_PART)]
        c.insert(self.target.collection("texts"), [{"id": f"{doc.doc_id}:{gen}:{n}", "doc_id": doc.doc_id, "gen": gen,
                                                    "part": n, "text": p, "vec": [0.0] * DUMMY}
                                                   for n, p in enumerate(parts)])
        sections = index.sections_of(doc.row)
        self._insert("sections", [{"id": f"{doc.doc_id}#{s.key}:{gen}", "doc_id": doc.doc_id, "gen": gen,
                                   "data": json.dumps({"key": s.key, "path": s.path, "start": s.start, "end": s.end,
                                                       "parent": s.parent, "has_children": s.has_children,
                                                       "has_text": s.has_text, "order": n}, ensure_ascii=False),
                                   "vec": [0.0] * DUMMY} for n, s in enumerate(sections)])
        self._write_chunks(doc, gen, avgdl)

    def _write_chunks(self, doc, gen: int, avgdl: float) -> None:
        index = self.index
        rows = index.store.query("SELECT c.row, c.start, c.end, c.text, c.tokens, s.key, s.row FROM chunks c "
                                 "JOIN sections s ON s.row = c.section_row WHERE c.doc_row = ? ORDER BY c.row", (doc.row,))
        per_section = Counter(r[6] for r in rows)
        scalars = {"doc_id": doc.doc_id, "gen": gen, "year": doc.year or 0, "region": doc.region or "",
                   "doc_type": doc.doc_type or ""}
        chunks, sentences = [], []
        for row, start, end, text, tokens, key, section_row in rows:
            words = tokens.split()
            cid = (gen << 32) | row
            chunks.append({"id": cid, **scalars, "section_key": key, "section_chunks": per_section[section_row],
                           "start": start, "end": end, "text": text, "words": tokens,
                           "sparse": term_weights(words, avgdl) or {0: 0.0},
                           "dense": np.asarray(index.vectors[row], dtype=np.float32).tolist(),
                           "second": np.asarray(index.use_chunks[row], dtype=np.float32).tolist()})
            owner = index.sentence_chunk
            a, b = np.searchsorted(owner, [row, row + 1])
            for s in range(int(a), int(b)):
                sentences.append({"id": (gen << 40) | s, "chunk": cid, **scalars,
                                  "vec": np.asarray(index.use_sentences[s], dtype=np.float32).tolist()})
        self._insert("chunks", chunks)
        self._insert("sentences", sentences)

    def _insert(self, kind: str, rows: list[dict]) -> None:
        for i in range(0, len(rows), BATCH):
            self.client.insert(self.target.collection(kind), rows[i:i + BATCH])

    def _write_terms(self) -> None:
        """Document frequencies for BM25's idf: only those that changed since the last write."""
        df = self.index.bm25.document_frequencies()
        kept = mirror_of(self.target).parent / "terms.json"
        try:
            before = json.loads(kept.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            before = {}
        changed = [{"word": w, "df": int(n), "vec": [0.0] * DUMMY} for w, n in df.items()
                   if before.get(w) != n and len(w.encode("utf-8")) <= 250]
        for i in range(0, len(changed), 2_000):
            self.client.upsert(self.target.collection("terms"), changed[i:i + 2_000])
        gone = [w for w in before if w not in df]
        for i in range(0, len(gone), 2_000):
            self.client.upsert(self.target.collection("terms"), [{"word": w, "df": 0, "vec": [0.0] * DUMMY}
                                                                 for w in gone[i:i + 2_000]])
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_name(f".{kept.name}.{os.getpid()}")
        tmp.write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, kept)

    def _manifest(self, gen: int, retire: list[str], avgdl: float, n: int) -> dict:
        local = self.index.manifest
        return {"format": "policyqa-milvus", "format_version": FORMAT_VERSION, "gen": gen, "retire": retire,
                "model": local["model"], "second": {"name": second.NAME, "dimension": second.DIMENSION},
                "settings": local.get("settings"), "retrieval": local.get("retrieval"),
                "counts": local.get("counts"), "bm25": {"n": n, "avgdl": avgdl, **BM25_PARAMS},
                "indexes": self._indexes(), "partitions": {"key": "year", "buckets": PARTITIONS},
                "layout": (self.meta or {}).get("layout") or layout(),
                "build": {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "policyqa": local.get("build", {}).get("policyqa")}}


# A document's record holds at most this many characters of life facts (the field holds 16 384):
# a decision repealing dozens of regulations keeps every title, with shorter sentences.
DOC_DATA_CHARS = 8_000


def fitted(lifecycle: dict, limit: int) -> dict:
    """`lifecycle` within `limit` characters of JSON: sentences cut shorter until it fits."""
    for cut in (240, 120, 60, 0):
        out = {k: ([{**x, "sentence": x.get("sentence", "")[:cut]} for x in v] if isinstance(v, list) else v)
               for k, v in lifecycle.items()}
        if len(json.dumps(out, ensure_ascii=False)) <= limit:
            return out
    return {k: v for k, v in out.items() if not isinstance(v, list)}
