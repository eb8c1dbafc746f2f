"""policyqa beside the generic Chinese RAG retrieval design, in one run, on one corpus and one
gold file.

    python bench/bench_peers.py --corpus DIR --gold FILE [--index DIR] [--work DIR] [--limit N]

The generic design is what Langchain-Chatchat and most Chinese RAG stacks ship, written
plainly here: RecursiveCharacterTextSplitter (250 characters, 50 overlap, Chinese sentence
separators) over the raw files, BM25 (bm25s) over jieba words, m3e-small through
sentence-transformers, exact FAISS inner product, and reciprocal-rank fusion (k = 60) of
the top 100 of each. BM25 alone and m3e alone are printed beside it.

Prints every metric `policyqa eval` applies to the gold file (cover@5, touch@5, answer@5,
doc hit@5, recall@5 …) for each design side by side, the index build wall time of each and
their ratio, and the warm query p50 of each. With `--index DIR` an existing policyqa index of
the corpus is used (and its build time is not measured); `--work DIR` keeps the generic
design's chunks and vectors between runs (its build time is then that of the first run).
Results go to bench/out/peers-<corpus>-<gold>.json as well.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from assistant.search.evaluate import load_gold, metric_line, score_question, summarize  # noqa: E402

CHUNK, OVERLAP, TOP, RRF_K = 250, 50, 100, 60
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", " ", ""]
_WORD = re.compile(r"\w")


@dataclass
class Hit:
    """The fields the scorer reads, as policyqa's SearchResult has them."""

    rank: int
    text: str
    source: str
    section_path: list[str] = field(default_factory=list)


class Generic:
    """The generic pipeline: fixed-size chunks, BM25 over jieba words, m3e, RRF."""

    def __init__(self, corpus: Path, work: Path | None):
        self.corpus = corpus
        self.work = work
        self.build_seconds = 0.0

    def build(self) -> None:
        import bm25s
        import faiss
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        started = time.monotonic()
        cache = self._cache_dir()
        if cache and (cache / "chunks.json").exists():
            self.chunks = json.loads((cache / "chunks.json").read_text(encoding="utf-8"))
            vectors = np.load(cache / "vectors.npy")
        else:
            splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK, chunk_overlap=OVERLAP, separators=SEPARATORS)
            self.chunks = []
            for path in sorted(p for p in self.corpus.rglob("*") if p.is_file() and p.suffix in (".txt", ".md")):
                text = path.read_text(encoding="utf-8", errors="replace")
                source = path.relative_to(self.corpus).as_posix()
                self.chunks += [{"source": source, "text": piece} for piece in splitter.split_text(text)]
            vectors = self._model().encode([c["text"] for c in self.chunks], batch_size=32, normalize_embeddings=True,
                                           convert_to_numpy=True).astype(np.float32)
            if cache:
                cache.mkdir(parents=True, exist_ok=True)
                (cache / "chunks.json").write_text(json.dumps(self.chunks, ensure_ascii=False), encoding="utf-8")
                np.save(cache / "vectors.npy", vectors)
        self.dense = faiss.IndexFlatIP(vectors.shape[1])
        self.dense.add(vectors)
        self.bm25 = bm25s.BM25()
        self.bm25.index([self._words(c["text"]) for c in self.chunks], show_progress=False)
        self.build_seconds = time.monotonic() - started

    def _cache_dir(self) -> Path | None:
        if self.work is None:
            return None
        key = hashlib.sha1(f"{self.corpus.resolve()}|{CHUNK}|{OVERLAP}".encode()).hexdigest()[:12]
        return self.work / f"generic-{key}"

    def _model(self):
        if not hasattr(self, "model"):
            from sentence_transformers import SentenceTransformer

            from indexer.embed import resolve_model

            self.model = SentenceTransformer(resolve_model("m3e-small"), device="cpu")
        return self.model

    @staticmethod
    def _words(text: str) -> list[str]:
        import jieba

        return [w for w in jieba.lcut_for_search(text) if _WORD.search(w)]

    def ranked(self, query: str, how: str) -> list[int]:
        lists = []
        if how in ("bm25", "hybrid"):
            words = self._words(query)
            if words:
                docs, scores = self.bm25.retrieve([words], k=min(TOP, len(self.chunks)), show_progress=False)
                lists.append([int(d) for d, s in zip(docs[0], scores[0]) if s > 0])
            else:
                lists.append([])
        if how in ("dense", "hybrid"):
            q = self._model().encode([query], normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
            lists.append([int(i) for i in self.dense.search(q, TOP)[1][0] if i >= 0])
        if len(lists) == 1:
            return lists[0]
        fused: dict[int, float] = {}
        for ranking in lists:
            for r, i in enumerate(ranking, start=1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r)
        return sorted(fused, key=fused.get, reverse=True)

    def search(self, query: str, k: int = 10, how: str = "hybrid") -> list[Hit]:
        return [Hit(n, self.chunks[i]["text"], self.chunks[i]["source"])
                for n, i in enumerate(self.ranked(query, how)[:k], start=1)]


def policyqa_engine(corpus: Path, index: Path | None, work: Path):
    from assistant.search.index import load_index
    from assistant.search.retrieve import Searcher
    from indexer.build import build_index

    seconds = None
    if index is None:
        index = work / "policyqa-index"
        started = time.monotonic()
        build_index(corpus, index, rebuild=True)
        seconds = time.monotonic() - started
    return Searcher(load_index(index)), seconds


def score(search, items: list[dict]) -> tuple[dict, list[float]]:
    from assistant.search.retrieve import QueryError

    scores, times = [], []
    for item in items:
        started = time.monotonic()
        try:
            results = search(item["question"])
        except QueryError:  # a question without a letter or digit: nothing to search
            results = []
        times.append(time.monotonic() - started)
        scores.append(score_question(item, results))
    return summarize(scores)["overall"], times


def p50(values: list[float]) -> float:
    return float(np.percentile(values, 50)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--gold", required=True, type=Path)
    ap.add_argument("--index", type=Path, help="an existing policyqa index of the corpus (build not timed)")
    ap.add_argument("--work", type=Path, help="keep the generic design's chunks and vectors here between runs")
    ap.add_argument("--limit", type=int, help="only the first N questions")
    args = ap.parse_args()
    items = load_gold(args.gold)[: args.limit]
    work = args.work or Path(tempfile.mkdtemp(prefix="policyqa-peers-"))

    generic = Generic(args.corpus, args.work)
    generic.build()
    ours, our_build = policyqa_engine(args.corpus, args.index, work)
    for item in items[:3]:  # warm both: model sessions, caches, page cache
        generic.search(item["question"])
        ours.search(item["question"], k=10)

    rows = {}
    for name, search in (("BM25 alone", lambda q: generic.search(q, how="bm25")),
                         ("m3e alone", lambda q: generic.search(q, how="dense")),
                         ("generic hybrid (RRF, 250/50)", lambda q: generic.search(q)),
                         ("policyqa", lambda q: ours.search(q, k=10))):
        summary, times = score(search, items)
        rows[name] = {"metrics": summary, "p50_ms": round(1000 * p50(times), 1)}
        print(f"{name:30} n={summary['questions']:<5} {metric_line(summary)}   p50 {rows[name]['p50_ms']} ms", flush=True)

    headline = "cover@5" if "cover@5" in rows["policyqa"]["metrics"] else (
        "answer@5" if "answer@5" in rows["policyqa"]["metrics"] else "recall@5")
    gain = rows["policyqa"]["metrics"][headline] - rows["generic hybrid (RRF, 250/50)"]["metrics"][headline]
    print(f"\nheadline {headline}: policyqa − generic hybrid = {gain:+.4f}")
    builds = {"generic_s": round(generic.build_seconds, 1), "policyqa_s": round(our_build, 1) if our_build else None}
    if our_build:
        builds["ratio"] = round(our_build / generic.build_seconds, 2)
    print(f"index build: generic {builds['generic_s']} s, policyqa {builds['policyqa_s']} s"
          + (f", ratio {builds['ratio']}" if our_build else " (existing index, not timed)"))
    result = {"corpus": str(args.corpus), "gold": str(args.gold), "questions": len(items), "rows": rows,
              "headline": headline, "gain": round(gain, 4), "build": builds}
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    name = f"peers-{args.gold.resolve().parent.name}-{args.gold.stem}.json"
    (out / name).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
