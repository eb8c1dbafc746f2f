"""Index build cost of policyqa beside the generic Chinese RAG build, paired, in one run.

    python bench/bench_build.py compare --corpus DIR [--runs 3] [--files N]
    python bench/bench_build.py once {policyqa,generic} --corpus DIR --out DIR [--files N]

`compare` builds the corpus from scratch with each design in turn (A B A B …), each as its own
process, and prints for each its wall time, CPU time (user + system) and peak resident memory
(the OS's accounting of the finished process, `os.wait4`), the medians, and the ratios
policyqa / generic pair by pair (the machine's speed drifts between runs; a pair shares it).
policyqa's own stage times (parsing, each encoder's worker-seconds, BM25, FAISS) are printed
from its build report. `--files N` takes the first N files of the corpus (sorted paths), e.g.
300 files of ../shared/corpora/laws.

The generic build is bench/bench_peers.py's (RecursiveCharacterTextSplitter 250/50 over the raw
files, m3e-small fp32 through sentence-transformers, exact FAISS, BM25 over jieba words), each
build starting with its model load, as policyqa's `policyqa index` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DESIGNS = ("policyqa", "generic")


def chosen_files(corpus: Path, files: int | None) -> Path:
    """The corpus, or a folder of links to its first `files` files (sorted paths)."""
    if not files:
        return corpus
    from indexer.read import SUPPORTED_SUFFIXES

    paths = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)[:files]
    folder = Path(tempfile.mkdtemp(prefix="policyqa-bench-corpus-"))
    for p in paths:
        target = folder / p.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
    return folder


def once(design: str, corpus: Path, out: Path) -> dict:
    started = time.monotonic()
    if design == "generic":
        from bench.bench_peers import Generic

        generic = Generic(corpus, None)
        generic.build()
        return {"design": design, "seconds": time.monotonic() - started, "chunks": len(generic.chunks)}
    from indexer.build import build_index

    report = build_index(corpus, out / "index", rebuild=True)
    return {"design": design, "seconds": time.monotonic() - started, "chunks": report.chunks,
            "characters": report.characters, "stages": {k: round(v, 2) for k, v in report.stages.items()}}


def run_once(design: str, corpus: Path) -> dict:
    """One build as its own process: wall, CPU and peak memory from the OS."""
    out = Path(tempfile.mkdtemp(prefix=f"policyqa-bench-{design}-"))
    try:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, __file__, "once", design, "--corpus", str(corpus), "--out", str(out)],
                                stdout=subprocess.PIPE, cwd=ROOT)
        data = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        if status != 0:
            raise SystemExit(f"{design} build failed ({status})")
        record = json.loads(data.decode().strip().splitlines()[-1])
        return {**record, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def compare(corpus: Path, runs: int) -> dict:
    pairs = []
    for n in range(runs):
        ours, theirs = run_once("policyqa", corpus), run_once("generic", corpus)
        pairs.append((ours, theirs))
        print(f"run {n + 1}: policyqa {ours['wall']:.1f} s wall, {ours['cpu']:.1f} s CPU, {ours['peak_mb']:.0f} MB; "
              f"generic {theirs['wall']:.1f} s wall, {theirs['cpu']:.1f} s CPU, {theirs['peak_mb']:.0f} MB; "
              f"ratio {ours['wall'] / theirs['wall']:.2f}", flush=True)
    med = statistics.median
    summary = {"corpus": str(corpus), "runs": runs, "characters": pairs[0][0].get("characters"),
               "chunks": {"policyqa": pairs[0][0]["chunks"], "generic": pairs[0][1]["chunks"]}}
    for key in ("wall", "cpu", "peak_mb"):
        summary[key] = {"policyqa": round(med(p[0][key] for p in pairs), 1),
                        "generic": round(med(p[1][key] for p in pairs), 1),
                        "ratio": round(med(p[0][key] / p[1][key] for p in pairs), 2)}
    summary["policyqa_stages"] = pairs[-1][0]["stages"]
    chars = summary["characters"] or 0
    summary["policyqa_chars_per_s"] = round(chars / summary["wall"]["policyqa"]) if chars else None
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return summary


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--corpus", type=Path, required=True)
    c.add_argument("--runs", type=int, default=3)
    c.add_argument("--files", type=int)
    o = sub.add_parser("once")
    o.add_argument("design", choices=DESIGNS)
    o.add_argument("--corpus", type=Path, required=True)
    o.add_argument("--out", type=Path, required=True)
    o.add_argument("--files", type=int)
    args = ap.parse_args()
    corpus = chosen_files(args.corpus, args.files)
    try:
        if args.command == "once":
            print(json.dumps(once(args.design, corpus, args.out), ensure_ascii=False))
        else:
            result = compare(corpus, args.runs)
            out = ROOT / "bench" / "out"
            out.mkdir(parents=True, exist_ok=True)
            name = f"build-{args.corpus.resolve().name}" + (f"-{args.files}" if args.files else "") + ".json"
            (out / name).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        if corpus != args.corpus:
            shutil.rmtree(corpus, ignore_errors=True)


if __name__ == "__main__":
    main()
