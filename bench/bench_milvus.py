"""The Milvus backend against the local index, every figure from one run on this machine, against a
`milvus-lite server` this script starts on 127.0.0.1 (or `--server milvus://HOST:PORT` for a
running Milvus; `POLICYQA_MILVUS_TOKEN` for one with authentication).

    python bench/bench_milvus.py parity  [--corpus corpus]
    python bench/bench_milvus.py ingest  [--corpus ../shared/corpora/laws] [--files 300]
    python bench/bench_milvus.py query   [--index DIR] [--size 100000]
    python bench/bench_milvus.py all

parity — the corpus built locally and written into Milvus; recall@5 and MRR@10 of both on
         dev.jsonl and dev-colloquial.jsonl, the share of questions whose top-5 sections are
         the same, and warm search latency of both.
ingest — the same corpus (the first --files files, sorted) built locally and written into Milvus,
         each from nothing: characters per second of both and their ratio; the Milvus side is the
         same local build (into its mirror) plus the writes, reported apart.
query  — an index of --size chunks made from a real index (bench_scale.make_scaled: its
         documents repeated, real vectors for the first copy, random unit vectors for the rest),
         written into Milvus; warm search p50/p95 over the 50 dev questions, Milvus against local.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from assistant.backends.milvus.lite import LiteServer  # noqa: E402
from assistant.backends.milvus.schema import connect, parse  # noqa: E402
from assistant.backends.milvus.writer import _Writer, mirror_of, publish  # noqa: E402
from assistant.search.engine import open_engine  # noqa: E402
from assistant.search.evaluate import evaluate, load_gold  # noqa: E402
from indexer.build import build_index  # noqa: E402

SHARED = ROOT.parent / "shared"
DEV = [SHARED / "eval" / "dev.jsonl", SHARED / "eval" / "dev-colloquial.jsonl"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def latencies(engine, questions: list[str], rounds: int = 3) -> dict:
    for q in questions:  # warm: models, caches, pages of the index
        engine.search(q, k=5)
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            engine.search(q, k=5)
            times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(pct(times, 0.5), 1), "p95_ms": round(pct(times, 0.95), 1)}


def questions() -> list[str]:
    return [item["question"] for path in DEV for item in load_gold(path)]


def bench_parity(server: str, corpus: Path, work: Path) -> dict:
    local_dir = work / "parity-local"
    build_index(corpus, local_dir)
    location = f"{server}/bench_parity_{os.getpid()}"
    publish(corpus, location)
    remote, local = open_engine(location), open_engine(str(local_dir))
    out = {"corpus": str(corpus), "sets": {}}
    for path in DEV:
        items = load_gold(path)
        there, _ = evaluate(remote, items)
        here, _ = evaluate(local, items)
        same = sum([r.section_id for r in remote.search(q["question"], k=5)] ==
                   [r.section_id for r in local.search(q["question"], k=5)] for q in items)
        out["sets"][path.name] = {
            "local": {m: here["overall"][m] for m in ("recall@5", "mrr@10")},
            "milvus": {m: there["overall"][m] for m in ("recall@5", "mrr@10")},
            "top5_same": round(same / len(items), 4)}
    qs = questions()
    out["latency"] = {"local": latencies(local, qs), "milvus": latencies(remote, qs)}
    _drop(location)
    return out


def bench_ingest(server: str, corpus: Path, files: int, work: Path) -> dict:
    part = work / "ingest-corpus"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    picked = sorted(p for p in corpus.rglob("*") if p.is_file())[:files]
    for p in picked:
        dest = part / p.relative_to(corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)
    local_dir = work / "ingest-local"
    shutil.rmtree(local_dir, ignore_errors=True)
    location = f"{server}/bench_ingest_{os.getpid()}"
    shutil.rmtree(mirror_of(parse(location)).parent, ignore_errors=True)
    t = time.perf_counter()
    local = build_index(part, local_dir)
    local_s = time.perf_counter() - t
    t = time.perf_counter()
    remote = publish(part, location)
    remote_s = time.perf_counter() - t
    write_s = remote.stages.get("milvus", 0.0)
    chars = local.characters
    _drop(location)
    return {"files": len(picked), "documents": local.documents, "chunks": local.chunks, "characters": chars,
            "local_s": round(local_s, 1), "local_chars_per_s": round(chars / local_s),
            "milvus_s": round(remote_s, 1), "milvus_chars_per_s": round(chars / remote_s),
            "milvus_write_s": round(write_s, 1), "milvus_write_chunks_per_s": round(local.chunks / max(write_s, 1e-9)),
            "ratio_milvus_to_local": round(local_s / remote_s, 3)}


def bench_query(server: str, index_dir: Path, size: int, work: Path) -> dict:
    from bench_scale import make_scaled

    from assistant.search.index import load_index

    scaled = work / f"scaled-{size}"
    make_scaled(index_dir, scaled, size, questions()[:30])
    location = f"{server}/bench_query_{os.getpid()}"
    target = parse(location)
    index = load_index(scaled)
    t = time.perf_counter()
    try:
        _Writer(connect(target), target, index, None, None).run(rebuild=True)
    finally:
        index.close()
    write_s = time.perf_counter() - t
    remote, local = open_engine(location), open_engine(str(scaled))
    qs = questions()
    here, there = latencies(local, qs), latencies(remote, qs)
    out = {"chunks": remote.manifest["counts"]["chunks"], "indexes": remote.manifest.get("indexes"),
           "write_s": round(write_s, 1), "local": here, "milvus": there,
           "p50_ratio_milvus_to_local": round(there["p50_ms"] / here["p50_ms"], 2),
           "p95_ratio_milvus_to_local": round(there["p95_ms"] / here["p95_ms"], 2)}
    _drop(location)
    shutil.rmtree(scaled, ignore_errors=True)
    return out


def _drop(location: str) -> None:
    target = parse(location)
    client = connect(target)
    for name in client.list_collections():
        if name.startswith(f"{target.name}_"):
            client.drop_collection(name)
    shutil.rmtree(mirror_of(target).parent, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["parity", "ingest", "query", "all"])
    ap.add_argument("--server", help="milvus://HOST:PORT of a running Milvus (default: start milvus-lite)")
    ap.add_argument("--corpus", help="parity: default corpus/; ingest: default ../shared/corpora/laws")
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--index", default=str(ROOT / "bench" / "out" / "laws-index"),
                    help="query: a real index to scale from (bench_scale.py index makes this one)")
    ap.add_argument("--size", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as tmp:
        work = Path(tmp)
        server = None if args.server else LiteServer(work / "milvus").start()
        location = args.server.rstrip("/") if args.server else f"milvus://127.0.0.1:{server.port}"
        try:
            results = {}
            if args.what in ("parity", "all"):
                results["parity"] = bench_parity(location, Path(args.corpus or ROOT / "corpus"), work)
                print(json.dumps({"parity": results["parity"]}, ensure_ascii=False), flush=True)
            if args.what in ("ingest", "all"):
                corpus = Path(args.corpus or SHARED / "corpora" / "laws") if args.what == "ingest" else \
                    SHARED / "corpora" / "laws"
                results["ingest"] = bench_ingest(location, corpus, args.files, work)
                print(json.dumps({"ingest": results["ingest"]}, ensure_ascii=False), flush=True)
            if args.what in ("query", "all"):
                results["query"] = bench_query(location, Path(args.index), args.size, work)
                print(json.dumps({"query": results["query"]}, ensure_ascii=False), flush=True)
            out = ROOT / "bench" / "out" / f"milvus-{args.what}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
