"""The second model's build work on real chunks, two ways, in one run.

    python bench/bench_second.py [--corpus ../shared/corpora/gov_work_reports] [--sample 300] [--rounds 3]

Prints, on one thread (as each build worker runs), medians over interleaved rounds: every chunk
and sentence text encoded whole (second.encode of second.build_texts) against
second.encode_chunks (the sentences' token features mostly from their chunk's), the ratio, and
the cosines between the two ways' vectors (int8 activations are scaled per call, so not 1).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from indexer import second  # noqa: E402
from indexer.chunk import chunk_document  # noqa: E402
from indexer.parse import parse_text  # noqa: E402
from indexer.read import discover, read_document  # noqa: E402


def sample(folder: Path, n: int) -> list[tuple[str, str]]:
    """n random chunks of (up to 200 files of) the corpus as (section heading, text), as a build
    hands them to the second model."""
    files, _ = discover(folder)
    random.Random(7).shuffle(files)
    chunks: list[tuple[str, str]] = []
    for f in files[:200]:
        doc = parse_text(read_document(f.path), f.source)
        headings = {s.key: s.path[-1] if s.path else "" for s in doc.sections}
        chunks += [(headings[c.section_key], c.text) for c in chunk_document(doc)]
    return random.Random(7).sample(chunks, min(n, len(chunks)))


def rounds(ways: dict, n: int) -> tuple[dict[str, float], dict[str, object]]:
    seconds: dict[str, list[float]] = {k: [] for k in ways}
    results: dict[str, object] = {}
    for _ in range(n):
        for name, fn in ways.items():
            started = time.perf_counter()
            results[name] = fn()
            seconds[name].append(time.perf_counter() - started)
    return {k: statistics.median(v) for k, v in seconds.items()}, results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpora" / "gov_work_reports"))
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    pairs = sample(Path(args.corpus), args.sample)
    print(f"{len(pairs)} chunks of {args.corpus}, {sum(len(x) for _, x in pairs)} characters")
    texts = second.build_texts(pairs)
    second.encode(texts[:8])
    times, out = rounds({"whole": lambda: second.encode(texts), "from chunks": lambda: second.encode_chunks(pairs)},
                        args.rounds)
    flat = np.concatenate([out["from chunks"][0], *out["from chunks"][1]])
    cosine = (flat * out["whole"]).sum(axis=1)
    print(f"\nsecond model, one thread, {len(texts)} chunk and sentence texts")
    print(f"  whole        {times['whole']:6.2f} s")
    print(f"  from chunks  {times['from chunks']:6.2f} s  {times['from chunks'] / times['whole']:.2f}x  "
          f"cosine to whole: lowest {cosine.min():.4f}, median {np.median(cosine):.4f}")


if __name__ == "__main__":
    main()
