"""Answer latency by kind of question, warm (every question answered once before timing).

usage: python bench/bench_kinds.py SEEDS_INDEX REPORTS_INDEX [--rounds 3]
  SEEDS_INDEX: an index of corpus/; REPORTS_INDEX: an index of ../shared/corpora/gov_work_reports.
Prints p50 and p90 per group: look-ups (../shared/eval/dev.jsonl on the seeds), and the questions of
../shared/eval/dev-kinds.jsonl per corpus, with the kind each was answered as.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from assistant.answers.answer import Answerer  # noqa: E402
from assistant.search.engine import open_engine  # noqa: E402


def timed(answerer: Answerer, items: list[dict], rounds: int) -> dict[str, list[float]]:
    for item in items:  # warm: models, document texts, section trees
        answerer.set_today(item.get("today"))
        answerer.answer(item["question"])
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for item in items:
            answerer.set_today(item.get("today"))
            start = time.perf_counter()
            ans = answerer.answer(item["question"])
            times[ans.kind].append(time.perf_counter() - start)
    return times


def line(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"{name:<28} n={len(ordered):<4} p50 {statistics.median(ordered):.3f} s   p90 {p90:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seeds")
    parser.add_argument("reports")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lookups = [json.loads(x) for x in (SHARED / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if x]
    kinds = [json.loads(x) for x in (SHARED / "eval" / "dev-kinds.jsonl").read_text(encoding="utf-8").splitlines() if x]
    seeds, reports = Answerer(open_engine(args.seeds)), Answerer(open_engine(args.reports))
    for kind, seconds in sorted(timed(seeds, lookups, args.rounds).items()):
        print(line(f"seeds dev.jsonl {kind}", seconds))
    for name, answerer in (("seeds", seeds), ("reports", reports)):
        items = [q for q in kinds if q["corpus"] == name]
        groups = timed(answerer, items, args.rounds)
        for kind, seconds in sorted(groups.items()):
            print(line(f"{name} kinds {kind}", seconds))
        every = [s for k, v in groups.items() if k != "lookup" for s in v]
        if every:
            print(line(f"{name} kinds (not look-ups)", every))


if __name__ == "__main__":
    main()
