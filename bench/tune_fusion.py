"""Tune the fusion weights on both dev sets together, with the product's own signals.

    python bench/tune_fusion.py [--index index] [--top 15] [--ablations] [-v]

Signals are computed once per question over every chunk (Searcher.signals), then every
setting of the grid is scored: recall@5 / MRR@10 on dev.jsonl and dev-colloquial.jsonl.
Settings that keep dev.jsonl at recall@5 >= 0.97 and MRR@10 >= 0.95 come first, ranked
by the colloquial set. `--ablations` measures each piece on its own, and two that were
tried and not kept: m3e-small on every sentence, and pseudo-relevance feedback.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluate import load_gold, score_question, summarize  # noqa: E402
from assistant.expand import Thesaurus  # noqa: E402
from assistant.index import load_index  # noqa: E402
from assistant.retrieve import Fusion, Searcher  # noqa: E402
from indexer.chinese import to_simplified  # noqa: E402
from indexer.textutil import split_sentences  # noqa: E402

SETS = [ROOT.parent / "shared" / "eval" / "dev.jsonl", ROOT.parent / "shared" / "eval" / "dev-colloquial.jsonl"]
GRID = {
    "expanded_dense": [0.0, 0.3, 0.5],
    "bm25_weight": [0.1, 0.2, 0.25, 0.3],
    "expansion_weight": [0.3, 0.6, 1.0],
    "second_weight": [0.0, 0.3, 0.6, 0.8, 1.0],
    "second_sentences": [0.0, 0.5, 0.7, 0.8, 1.0],
}


def signal_cache(searcher, sets) -> dict:
    cache = {}
    for name, items in sets.items():
        for it in items:
            plan = searcher.plan(it["question"])
            rows, signals = searcher.signals(plan, searcher.index.size, None)
            cache[(name, it["id"])] = (plan, rows, signals)
    return cache


def evaluate(searcher, cache, sets, fusion: Fusion, extra=None, verbose=False) -> dict:
    searcher.fusion = fusion
    out = {}
    for name, items in sets.items():
        scores = []
        for it in items:
            plan, rows, signals = cache[(name, it["id"])]
            fused = fusion.combine(signals)
            if extra is not None:
                fused = fused + extra[(name, it["id"])][rows]
            results = searcher._results(dict(zip(rows.tolist(), fused.tolist())), rows, signals, 10, plan)
            s = score_question(it, results)
            scores.append(s)
            if verbose and (s.recall5 < 1 or s.rr10 < 1):
                print(f"    {it['id']} {it['question']} gold ranks {s.found_ranks}")
        out[name] = summarize(scores)["overall"]
    return out


def line(label, m) -> str:
    d, c = m["dev"], m["dev-colloquial"]
    return (f"{label} | dev R5 {d['recall@5']:.3f} MRR {d['mrr@10']:.3f} | "
            f"colloquial R5 {c['recall@5']:.3f} MRR {c['mrr@10']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--ablations", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    index = load_index(Path(args.index))
    searcher = Searcher(index)
    sets = {p.stem: load_gold(p) for p in SETS}
    cache = signal_cache(searcher, sets)

    runs = []
    for values in itertools.product(*GRID.values()):
        fusion = Fusion(**dict(zip(GRID, values)))
        runs.append((fusion, evaluate(searcher, cache, sets, fusion)))

    def key(run):
        d, c = run[1]["dev"], run[1]["dev-colloquial"]
        keeps_dev = d["recall@5"] >= 0.97 and d["mrr@10"] >= 0.95
        return keeps_dev, c["recall@5"] + c["mrr@10"], d["recall@5"] + d["mrr@10"]

    runs.sort(key=key, reverse=True)
    current = Fusion.from_manifest(index.manifest)
    print(line(f"in use  {current.to_dict()}", evaluate(searcher, cache, sets, current, verbose=args.verbose)))
    for fusion, m in runs[: args.top]:
        fields = {k: getattr(fusion, k) for k in GRID}
        print(line(f"grid    {fields}", m))
    if args.ablations:
        ablations(searcher, cache, sets, current)


def ablations(searcher, cache, sets, current: Fusion) -> None:
    print("ablations (everything else as in use):")
    bare = Searcher(searcher.index, searcher.embedder, current, thesaurus=Thesaurus([]))
    bare_cache = signal_cache(bare, sets)
    cases = {
        "m3e + BM25 only (before this work)": (bare, bare_cache, replace(current, second_weight=0.0, bm25_weight=0.2)),
        "no thesaurus": (bare, bare_cache, current),
        "no second model": (searcher, cache, replace(current, second_weight=0.0)),
        "second model, whole chunks only": (searcher, cache, replace(current, second_sentences=0.0)),
    }
    for label, (s, c, fusion) in cases.items():
        print(line(f"  {label:38}", evaluate(s, c, sets, fusion)))
    searcher.fusion = current
    index, emb = searcher.index, searcher.embedder
    # m3e-small on every sentence (tried, not kept: no gain, twice the embedding time)
    rows = index.store.query("SELECT c.row, c.text, s.path FROM chunks c JOIN sections s ON s.row = c.section_row")
    texts, owner = [], []
    for row, text, path in rows:
        for s in split_sentences(text):
            if len(s) >= 6:
                texts.append(to_simplified(f"{json.loads(path)[-1]}：{s}"))
                owner.append(row)
    vecs, owner = emb.encode(texts, batch_size=64), np.array(owner)
    extra = {}
    for key, (plan, _, _) in cache.items():
        best = np.full(index.size, -1.0, dtype=np.float32)
        np.maximum.at(best, owner, vecs @ emb.encode([plan.simplified])[0])
        extra[key] = 0.5 * best
    print(line(f"  {'+ m3e on every sentence (0.5)':38}", evaluate(searcher, cache, sets, current, extra)))
    # pseudo-relevance feedback: the top 3 results' words as more expansions (tried, not kept)
    prf = {}
    for key, (plan, rows, signals) in cache.items():
        fused = current.combine(signals)
        top_rows = rows[np.argsort(-fused)[:3]]
        words = " ".join(t for (t,) in index.store.query(
            f"SELECT tokens FROM chunks WHERE row IN ({','.join('?' * len(top_rows))})", tuple(int(r) for r in top_rows))
        ).split()
        common = [w for w, _ in __import__("collections").Counter(words).most_common(8) if w not in plan.words]
        score = index.bm25.scores(common, index.size)
        prf[key] = 0.1 * score / max(float(score.max()), 1e-9)
    print(line(f"  {'+ pseudo-relevance feedback (0.1)':38}", evaluate(searcher, cache, sets, current, prf)))


if __name__ == "__main__":
    main()
