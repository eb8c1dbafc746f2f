"""Calibrate the answer's relevance floor on every dev set and the off-topic set.

    python bench/calibrate_answers.py --seeds INDEX [--ncpqa INDEX] [--laws INDEX] [--evals DIR]

For every question, the best shown relevance (`SearchResult.score`, indexer/fusion.py) of its
top five passages: on-topic for the seeds' two sets, ncpqa-dev, equals and lawbench-consult
over their indexes, off-topic for tests/data/off_topic.jsonl over the seeds. Prints the floor
that answers every question of the seeds while refusing the most off-topic ones, what it
refuses on each set, and the closest off-topic questions; and the same for the floor in use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answers.answer import CALIBRATED  # noqa: E402
from assistant.search.index import load_index  # noqa: E402
from assistant.search.retrieve import QueryError, Searcher  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
OFF_TOPIC = ROOT / "tests" / "data" / "off_topic.jsonl"


def questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def best(searcher: Searcher, question: str) -> float:
    try:
        return max((r.score for r in searcher.search(question, k=5)), default=-1.0)
    except QueryError:
        return -1.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", required=True, help="index of corpus/")
    ap.add_argument("--ncpqa")
    ap.add_argument("--laws")
    ap.add_argument("--evals", default=str(Path.home() / ".cache" / "policyqa-evals"))
    args = ap.parse_args()
    evals = Path(args.evals)
    sets = {"dev": (args.seeds, SHARED / "dev.jsonl"), "dev-colloquial": (args.seeds, SHARED / "dev-colloquial.jsonl")}
    if args.ncpqa:
        sets["ncpqa-dev"] = (args.ncpqa, evals / "ncpqa-dev" / "gold.jsonl")
    if args.laws:
        sets["equals"] = (args.laws, evals / "equals" / "gold.jsonl")
        sets["lawbench-consult"] = (args.laws, evals / "lawbench-consult" / "gold.jsonl")
    searchers: dict[str, Searcher] = {}
    for index, _ in sets.values():
        if index not in searchers:
            embedder = next(iter(searchers.values())).embedder if searchers else None
            searchers[index] = Searcher(load_index(Path(index)), embedder)
    on = {name: [best(searchers[index], q) for q in questions(gold)] for name, (index, gold) in sets.items()}
    off_questions = questions(OFF_TOPIC)
    off = [best(searchers[args.seeds], q) for q in off_questions]
    seeds_low = min(on["dev"] + on["dev-colloquial"])
    model = searchers[args.seeds].model_name
    for label, floor in (("answers every seed question", round(seeds_low - 0.005, 3)),
                         ("in use", CALIBRATED.get(model, 0.0))):
        refused_off = sum(x < floor for x in off)
        total_on = sum(len(v) for v in on.values())
        refused_on = sum(x < floor for v in on.values() for x in v)
        print(f"floor {floor:.3f} ({label}, {model}): off-topic refused {refused_off}/{len(off)} "
              f"({refused_off / len(off):.1%}); on-topic refused {refused_on}/{total_on} ({refused_on / total_on:.2%})")
        for name, values in on.items():
            print(f"   {name:18} refused {sum(x < floor for x in values)}/{len(values)}")
    print("closest off-topic questions:")
    for score, q in sorted(zip(off, off_questions), reverse=True)[:5]:
        print(f"   {score:.3f} {q}")


if __name__ == "__main__":
    main()
