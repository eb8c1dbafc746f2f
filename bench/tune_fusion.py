"""Choose the fusion on every development set together, with the product's own signals.

    python bench/tune_fusion.py --set dev=INDEX:GOLD [--set NAME=INDEX:GOLD …] [--top 15] [--ablations]
    python bench/tune_fusion.py … --sweep cited_weight=0,1,2,3

`--set` names a gold file and the index it is searched over; by default the seeds' two sets
over `index`, and, when their indexes are given with `--ncpqa INDEX` and `--laws INDEX`, the
external sets built by ../shared/tools/external_evals.py (`--evals DIR`, default
~/.cache/policyqa-evals). Signals are computed once per question (Searcher.signals over the
candidates a search would fetch), then every setting of the grid is scored on every set with
the set's headline metric (cover@5 for statutes, answer@5 for notices, recall@5 for the seeds).
Settings are ranked by their worst gain over the in-use setting across sets, then by the mean
headline: one default has to hold on every kind of corpus, not win on one. `--sweep FIELD=V,V…`
scores one field's values instead of the grid, everything else as in use.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.search.evaluate import load_gold, score_question, summarize  # noqa: E402
from assistant.search.expand import Thesaurus  # noqa: E402
from assistant.search.index import load_index  # noqa: E402
from assistant.search.retrieve import MIN_CANDIDATES, Fusion, QueryError, Searcher  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
EXTERNAL = {"ncpqa-dev": ("ncpqa", "ncpqa-dev/gold.jsonl"), "equals": ("laws", "equals/gold.jsonl"),
            "lawbench-consult": ("laws", "lawbench-consult/gold.jsonl")}
GRID = {
    "bm25_weight": [0.6, 1.0, 1.5],
    "second_weight": [0.2, 0.4, 0.8],
    "second_sentences": [0.5, 0.75],
    "coverage_weight": [0.2, 0.3, 0.45],
    "expansion_weight": [0.4, 0.6],
}


def headline(summary: dict) -> str:
    for name in ("cover@5", "answer@5", "recall@5", "doc_hit@5"):
        if name in summary:
            return name
    raise ValueError("no metric")


class Cached:
    """One gold set over one index, its signals computed once per question."""

    def __init__(self, searcher: Searcher, items: list[dict], candidates: int):
        self.searcher, self.items, self.cache = searcher, items, []
        for it in items:
            try:
                plan = searcher.plan(it["question"])
                rows, signals = searcher.signals(plan, candidates, None)
            except QueryError:
                plan, rows, signals = None, None, None
            self.cache.append((plan, rows, signals))

    def score(self, fusion: Fusion, k: int = 10) -> dict:
        self.searcher.fusion = fusion
        scores = []
        for it, (plan, rows, signals) in zip(self.items, self.cache):
            results = []
            if plan is not None and len(rows):
                fused = fusion.combine(signals)
                results = self.searcher._results(dict(zip(rows.tolist(), fused.tolist())), rows, signals, k, plan)
            scores.append(score_question(it, results))
        return summarize(scores)["overall"]


def load_sets(args) -> dict[str, Cached]:
    searchers: dict[str, Searcher] = {}

    def searcher(index: str) -> Searcher:
        if index not in searchers:
            embedder = next(iter(searchers.values())).embedder if searchers else None
            searchers[index] = Searcher(load_index(Path(index)), embedder, fusion=Fusion() if args.defaults else None)
        return searchers[index]

    specs = list(args.set or [])
    if not specs:
        specs = [f"dev={args.index}:{SHARED / 'dev.jsonl'}", f"dev-colloquial={args.index}:{SHARED / 'dev-colloquial.jsonl'}"]
        indexes = {"ncpqa": args.ncpqa, "laws": args.laws}
        for name, (kind, gold) in EXTERNAL.items():
            if indexes[kind] and (Path(args.evals) / gold).exists():
                specs.append(f"{name}={indexes[kind]}:{Path(args.evals) / gold}")
    sets = {}
    for spec in specs:
        name, _, where = spec.partition("=")
        index, _, gold = where.partition(":")
        items = load_gold(Path(gold))[: args.limit]
        sets[name] = Cached(searcher(index), items, args.candidates)
        print(f"{name}: {len(items)} questions over {index}", flush=True)
    return sets


def score_all(sets: dict[str, Cached], fusion: Fusion) -> dict[str, dict]:
    return {name: c.score(fusion) for name, c in sets.items()}


def line(label: str, scores: dict[str, dict]) -> str:
    cells = [f"{name} {headline(s)[:-2]} {s[headline(s)]:.3f}" for name, s in scores.items()]
    return f"{label} | " + " | ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", help="NAME=INDEX:GOLD (repeatable)")
    ap.add_argument("--index", default=str(ROOT / "index"), help="index of corpus/ for the seeds' sets")
    ap.add_argument("--ncpqa", help="index of the ncpqa-dev notices")
    ap.add_argument("--laws", help="index of ../shared/corpora/laws (or a part)")
    ap.add_argument("--evals", default=str(Path.home() / ".cache" / "policyqa-evals"))
    ap.add_argument("--candidates", type=int, default=MIN_CANDIDATES)
    ap.add_argument("--limit", type=int, help="only the first N questions of each set")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--ablations", action="store_true")
    ap.add_argument("--defaults", action="store_true", help="start from this version's defaults, not the manifests'")
    ap.add_argument("--sweep", help="FIELD=V,V,… : one field's values instead of the grid")
    args = ap.parse_args()
    sets = load_sets(args)
    current = next(iter(sets.values())).searcher.fusion
    base = score_all(sets, current)
    print(line(f"in use {current.to_dict()}", base), flush=True)
    if args.sweep:
        field, _, values = args.sweep.partition("=")
        for v in values.split(","):
            print(line(f"  {field}={v}", score_all(sets, replace(current, **{field: float(v)}))), flush=True)
        return

    runs = []
    for values in itertools.product(*GRID.values()):
        fusion = replace(current, **dict(zip(GRID, values)))
        scores = score_all(sets, fusion)
        gains = [scores[n][headline(base[n])] - base[n][headline(base[n])] for n in sets]
        runs.append((min(gains), float(np.mean([s[headline(s)] for s in scores.values()])), fusion, scores))
    runs.sort(key=lambda r: (r[0], r[1]), reverse=True)
    for worst, mean, fusion, scores in runs[: args.top]:
        fields = {k: getattr(fusion, k) for k in GRID}
        print(line(f"worst {worst:+.3f} mean {mean:.3f} {fields}", scores))
    if args.ablations:
        ablations(sets, current)


def ablations(sets: dict[str, Cached], current: Fusion) -> None:
    print("ablations (everything else as in use):")
    cases = {
        "no second model": replace(current, second_weight=0.0),
        "second model, whole chunks only": replace(current, second_sentences=0.0),
        "no BM25": replace(current, bm25_weight=0.0),
        "no thesaurus expansion words": replace(current, expansion_weight=0.0),
        "no citation prior": replace(current, cited_weight=0.0),
        "reciprocal ranks instead of scores": replace(current, method="rrf"),
    }
    for label, fusion in cases.items():
        print(line(f"  {label:36}", score_all(sets, fusion)), flush=True)
    bare = {}
    for name, c in sets.items():
        s = Searcher(c.searcher.index, c.searcher.embedder, current, thesaurus=Thesaurus([]))
        bare[name] = Cached(s, c.items, MIN_CANDIDATES)
    print(line(f"  {'no thesaurus at all':36}", score_all(bare, current)))


if __name__ == "__main__":
    main()
