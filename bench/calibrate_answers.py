"""Calibrate the answer's relevance floor for the index's model.

    python bench/calibrate_answers.py [--index index]

Prints the best passage's relevance (cosine + 0.1 × IDF-weighted share of the question's
words it contains) for every dev question (on-topic) and for twenty off-topic questions,
and the floor that keeps every on-topic question while rejecting the most off-topic ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer import Answerer  # noqa: E402
from assistant.evaluate import load_gold  # noqa: E402
from assistant.index import load_index  # noqa: E402
from assistant.retrieve import Searcher  # noqa: E402
from indexer.tokenize import tokenize  # noqa: E402

OFF_TOPIC = ["今天天气怎么样", "红烧肉怎么做", "世界杯冠军是谁", "如何学习Python编程", "股票怎么买", "手机没电了怎么办",
             "最近有什么好看的电影", "北京到上海的高铁多少钱", "猫为什么喜欢晒太阳", "怎么减肥最快", "hello world",
             "what is the capital of France", "量子计算机的原理", "iPhone 15 价格", "篮球规则", "如何养多肉植物",
             "汽车保养多久一次", "明天会下雨吗", "感冒了吃什么药", "怎么写简历"]


def best_relevance(answerer: Answerer, question: str) -> float:
    terms = set(tokenize(question))
    results = answerer.searcher.search(question, k=5)
    return max((answerer.relevance(terms, r) for r in results), default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    args = ap.parse_args()
    index = load_index(Path(args.index))
    answerer = Answerer(Searcher(index), min_relevance=0.0)
    gold = ROOT.parent / "shared" / "eval"
    on = [best_relevance(answerer, it["question"]) for f in ("dev.jsonl", "dev-colloquial.jsonl")
          for it in load_gold(gold / f)]
    off = sorted(((best_relevance(answerer, q), q) for q in OFF_TOPIC), reverse=True)
    floor = round(min(on) - 0.01, 2)
    print(f"model {index.model_name}: on-topic lowest {min(on):.3f}, off-topic highest {off[0][0]:.3f}")
    print(f"floor {floor}: keeps {sum(r >= floor for r in on)}/{len(on)} on-topic, "
          f"rejects {sum(r < floor for r, _ in off)}/{len(off)} off-topic")
    for r, q in off[:5]:
        print(f"  off-topic {r:.3f} {q}")


if __name__ == "__main__":
    main()
