"""Draft check on drafts made from the seeds with two random items removed.

    python bench/draft_check_trials.py [--index index] [--trials 6] [--seed 1]

For each plan and trial: remove two items, run the draft check, and count whether both
removed topics are reported as not covered and how many other topics are reported too.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answers.answer import Answerer  # noqa: E402
from assistant.drafting.draft import check_draft  # noqa: E402
from assistant.search.index import load_index  # noqa: E402
from assistant.search.retrieve import Searcher  # noqa: E402
from indexer.clean import clean_text  # noqa: E402
from indexer.structure import parse_sections  # noqa: E402

PLANS = ["2024-武进教育党建工作要点", "2023-金坛区委教育工委工作要点", "2020-宝山区教育工委工作要点"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    answerer = Answerer(Searcher(load_index(Path(args.index))))
    rng = random.Random(args.seed)
    runs = found = extra = 0
    for name in PLANS:
        cleaned = clean_text((ROOT / "corpus" / f"{name}.txt").read_text(encoding="utf-8"))
        items = [s for s in parse_sections(cleaned.paragraphs) if len(s.path) == 2]
        for _ in range(args.trials):
            removed = rng.sample(items, 2)
            text = cleaned.text
            for s in sorted(removed, key=lambda s: -s.start):
                text = text[:s.start] + text[s.end + 1:]
            missing = {m.path[-1] for m in check_draft(answerer, text).missing}
            want = {s.path[-1] for s in removed}
            runs += 1
            found += want <= missing
            extra += len(missing - want)
    print(f"{runs} drafts: both removed topics reported in {found}; other topics reported: {extra} in all")


if __name__ == "__main__":
    main()
