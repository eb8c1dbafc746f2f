"""Index and search speed, all figures taken in one run on this machine.

    python bench/bench_index_search.py [--corpus corpus] [--gold ../shared/eval/dev.jsonl]

Prints:
  - index build throughput (characters/s) and its ratio to plain
    SentenceTransformer.encode over the very chunk texts the build embedded;
  - warm search latency p50/p95 over the gold questions, and of an extractive answer;
  - wall time of a second `policyqa index` over the unchanged corpus (a new process).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answers.answer import Answerer  # noqa: E402
from assistant.search.index import load_index  # noqa: E402
from assistant.search.retrieve import Searcher  # noqa: E402
from indexer import second  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.embed import load_embedder  # noqa: E402
from indexer.encoding import EMBED_BATCH, embed_text  # noqa: E402
from indexer.tokenize import tokenize  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def chunk_texts(index) -> list[str]:
    rows = index.store.query(
        "SELECT d.title, s.path, c.text FROM chunks c JOIN sections s ON s.row = c.section_row "
        "JOIN documents d ON d.row = c.doc_row ORDER BY c.row")
    return [embed_text(t, json.loads(p), x) for t, p, x in rows]


def second_model_texts(index) -> list[str]:
    rows = index.store.query("SELECT s.path, c.text FROM chunks c JOIN sections s ON s.row = c.section_row ORDER BY c.row")
    return second.build_texts([(json.loads(p)[-1], t) for p, t in rows])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--gold", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    ap.add_argument("--repeat", type=int, default=5, help="times each question is searched")
    args = ap.parse_args()

    embedder = load_embedder()
    # Warm the model on text like the corpus, so neither timed run pays for first calls.
    sample = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in sorted(Path(args.corpus).glob("*"))[:2])
    embedder.encode([sample[i:i + 400] for i in range(0, min(len(sample), 40 * 400), 400)])
    # Loading jieba's dictionary and the second model is, like loading m3e, a once-per-process cost.
    t0 = time.perf_counter()
    tokenize("预热")
    jieba_s = time.perf_counter() - t0
    second.encode(["预热"])
    work = Path(tempfile.mkdtemp(prefix="pq-bench-"))
    index_dir = work / "index"
    try:
        t0 = time.perf_counter()
        report = build_index(Path(args.corpus), index_dir, embedder=embedder)
        build_s = time.perf_counter() - t0
        index = load_index(index_dir)
        texts = chunk_texts(index)
        t0 = time.perf_counter()
        embedder.encode(texts, batch_size=EMBED_BATCH)
        encode_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        second_texts = second_model_texts(index)
        second.encode(second_texts, workers=second.WORKERS)
        second_s = time.perf_counter() - t0
        chars = report.characters

        searcher = Searcher(index, embedder)
        gold_lines = Path(args.gold).read_text(encoding="utf-8").splitlines()
        questions = [json.loads(line)["question"] for line in gold_lines if line.strip()]
        for q in questions[:3]:
            searcher.search(q)
        latencies = []
        for _ in range(args.repeat):
            for q in questions:
                t0 = time.perf_counter()
                searcher.search(q, k=5)
                latencies.append((time.perf_counter() - t0) * 1000)

        answerer = Answerer(searcher)
        for q in questions[:3]:
            answerer.answer(q)
        answer_ms = []
        for q in questions:
            t0 = time.perf_counter()
            answerer.answer(q)
            answer_ms.append((time.perf_counter() - t0) * 1000)

        exe = [sys.executable, "-m", "assistant.cli", "index", args.corpus, "--index", str(index_dir)]
        t0 = time.perf_counter()
        out = subprocess.run(exe, capture_output=True, text=True, cwd=ROOT, check=True).stdout
        reindex_s = time.perf_counter() - t0
        assert "索引已是最新" in out, out

        print(f"corpus: {args.corpus} — {report.documents} documents, {report.chunks} chunks, {chars} characters")
        print(f"index build:      {build_s:7.2f} s  {chars / build_s:9.0f} chars/s  (model already loaded)")
        print(f"plain encode:     {encode_s:7.2f} s  {chars / encode_s:9.0f} chars/s  "
              f"({embedder.name}, the same {len(texts)} chunk texts)")
        print(f"plain second model: {second_s:7.2f} s  (the same chunks and their {len(second_texts) - len(texts)} sentences)")
        both = encode_s + second_s
        print(f"ratio build/encode throughput: {both / build_s:.2f} against both models' plain encode  (target >= 0.9);"
              f" {encode_s / build_s:.2f} against the first model alone")
        print(f"  (jieba dictionary load, once per process, not in the build time: {jieba_s:.2f} s;"
              f" counted in, the ratio is {both / (build_s + jieba_s):.2f})")
        print(f"warm search latency over {len(questions)} questions x {args.repeat}: "
              f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms  (target p50 <= 30 ms)")
        print(f"warm extractive answer over {len(questions)} questions: p50 {percentile(answer_ms, 0.5):.0f} ms, "
              f"p95 {percentile(answer_ms, 0.95):.0f} ms  (target p50 <= 500 ms)")
        print(f"second `policyqa index` over the unchanged corpus: {reindex_s:.2f} s  (target <= 2 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
