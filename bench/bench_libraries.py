"""Each library's own questions, searched in its library alone and in all the libraries together
(issue 33): the quality must not move, and the warm latency is reported, in one run.

    python bench/bench_libraries.py LIBRARIES.json GOLD=LIBRARY [GOLD=LIBRARY …]

e.g. `../shared/eval/dev.jsonl=seeds ~/.cache/policyqa-evals/ncpqa-dev/gold.jsonl=ncpqa`. Prints,
per gold file, its metrics (as `policyqa eval`) alone and together and their differences, then
the warm search p50 of the gold's questions alone and together.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.office.libraries import LibrariesFile, open_libraries  # noqa: E402
from assistant.search.evaluate import evaluate, load_gold  # noqa: E402

METRICS = ("recall@5", "hit@5", "mrr@10", "answer@5", "doc_hit@5", "doc_own@5", "cover@5")


def warm_p50(engine, questions: list[str]) -> float:
    for q in questions[:20]:
        engine.search(q, k=5)
    times = []
    for q in questions:
        t = time.perf_counter()
        engine.search(q, k=5)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("libraries")
    p.add_argument("pairs", nargs="+", metavar="GOLD=LIBRARY")
    p.add_argument("--latency-questions", type=int, default=100)
    args = p.parse_args()
    registry = LibrariesFile(Path(args.libraries))
    together = open_libraries(registry)
    names = [lib.name for lib in registry.libraries()]
    print(f"libraries together: {', '.join(names)} ({len(together.documents())} documents)")
    for pair in args.pairs:
        gold, _, name = pair.rpartition("=")
        items = load_gold(Path(gold).expanduser())
        alone = open_libraries(registry, [name])
        a, _ = evaluate(alone, items)
        b, _ = evaluate(together, items)
        a, b = a["overall"], b["overall"]
        shown = [m for m in METRICS if m in a]
        print(f"{gold} ({len(items)} questions, library {name}):")
        for m in shown:
            print(f"  {m:<10} alone {a[m]:.4f}  together {b[m]:.4f}  difference {b[m] - a[m]:+.4f}")
        questions = [it["question"] for it in items][: args.latency_questions]
        print(f"  warm search p50: alone {warm_p50(alone, questions):.1f} ms, together {warm_p50(together, questions):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
