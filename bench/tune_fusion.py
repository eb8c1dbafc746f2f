"""Grid over fusion settings on the gold sets, with signals computed once.

    python bench/tune_fusion.py [--index DIR] GOLD.jsonl [GOLD.jsonl ...]

Prints recall@5 and MRR@10 per setting for each set and for all together.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.evaluate import load_gold, score_question, summarize  # noqa: E402
from assistant.index import load_index  # noqa: E402
from assistant.retrieve import Fusion, Searcher  # noqa: E402


def signals(searcher: Searcher, question: str):
    n = searcher.index.size
    return searcher._dense(question, n, None), searcher._bm25(question, n, None)


def ranked(searcher, dense, lexical, method, rrf_k, w_dense, w_bm25, k=10):
    fusion = Fusion(method=method, dense_weight=w_dense, bm25_weight=w_bm25, rrf_k=rrf_k or 60)
    searcher.fusion = fusion
    return searcher._results(fusion.fuse(dense, lexical), dense, lexical, k)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("gold", nargs="+")
    p.add_argument("--index", default="index")
    args = p.parse_args()
    searcher = Searcher(load_index(Path(args.index)))
    sets = {g: load_gold(Path(g)) for g in args.gold}
    cache = {g: [signals(searcher, it["question"]) for it in items] for g, items in sets.items()}
    grid = [("rrf", k, wd, 1.0) for k in (5, 10, 20, 40, 60) for wd in (0.5, 0.75, 1.0, 1.5, 2.0)]
    grid += [("score", 0, 1.0, wb) for wb in (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)]
    rows = []
    for method, rrf_k, wd, wb in grid:
        per = {}
        all_scores = []
        for g, items in sets.items():
            scores = [score_question(it, ranked(searcher, d, b, method, rrf_k, wd, wb))
                      for it, (d, b) in zip(items, cache[g])]
            all_scores += scores
            per[g] = summarize(scores)["overall"]
        total = summarize(all_scores)["overall"]
        rows.append((method, rrf_k, wd, wb, per, total))
    for method, rrf_k, wd, wb, per, total in sorted(rows, key=lambda r: -(r[5]["recall@5"] + r[5]["mrr@10"])):
        cols = "  ".join(f"{Path(g).stem}: R5 {s['recall@5']:.3f} MRR {s['mrr@10']:.3f}" for g, s in per.items())
        print(f"{method:5} k={rrf_k:<3} wd={wd:<4} wb={wb:<4} | all R5 {total['recall@5']:.3f} MRR {total['mrr@10']:.3f} | {cols}")


if __name__ == "__main__":
    main()
