"""Retrieval quality on gold questions: recall@5, hit@5, MRR@10 (rule in shared/README.md).

A gold entry is found at rank r when the r-th result's normalised text contains
the normalised key, or its normalised joined section path contains the
normalised heading; normalising deletes every character that is not a letter,
digit or CJK character.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from indexer.errors import PolicyQAError
from indexer.textutil import match_key

from .retrieve import Searcher, SearchResult


class GoldFileError(PolicyQAError, ValueError):
    pass


@dataclass
class QuestionScore:
    id: str
    question: str
    type: str
    recall5: float
    hit5: float
    rr10: float
    found_ranks: list[int | None] = field(default_factory=list)


def load_gold(path: Path) -> list[dict]:
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise GoldFileError(f"无法读取评测文件 {path}：{e}") from e
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise GoldFileError(f"{path} 第 {n} 行不是合法的 JSON：{e}") from e
        if not isinstance(item, dict) or not item.get("question") or not isinstance(item.get("gold"), list):
            raise GoldFileError(f"{path} 第 {n} 行缺少 question 或 gold 字段")
        items.append(item)
    if not items:
        raise GoldFileError(f"{path} 中没有评测问题")
    return items


def gold_rank(gold: dict, results: list[SearchResult], depth: int) -> int | None:
    key = match_key(gold.get("key", ""))
    heading = match_key(gold.get("heading", ""))
    for r in results[:depth]:
        if (key and key in match_key(r.text)) or (heading and heading in match_key("".join(r.section_path))):
            return r.rank
    return None


def score_question(item: dict, results: list[SearchResult]) -> QuestionScore:
    ranks = [gold_rank(g, results, 10) for g in item["gold"]]
    in5 = [r is not None and r <= 5 for r in ranks]
    first = min((r for r in ranks if r is not None), default=None)
    return QuestionScore(
        id=item.get("id", ""), question=item["question"], type=item.get("type", ""),
        recall5=sum(in5) / len(ranks) if ranks else 0.0,
        hit5=1.0 if any(in5) else 0.0,
        rr10=1.0 / first if first else 0.0,
        found_ranks=ranks,
    )


def summarize(scores: list[QuestionScore]) -> dict:
    def agg(group: list[QuestionScore]) -> dict:
        n = len(group)
        return {
            "questions": n,
            "recall@5": round(sum(s.recall5 for s in group) / n, 4),
            "hit@5": round(sum(s.hit5 for s in group) / n, 4),
            "mrr@10": round(sum(s.rr10 for s in group) / n, 4),
        }

    by_type: dict[str, list[QuestionScore]] = defaultdict(list)
    for s in scores:
        by_type[s.type or "-"].append(s)
    return {"overall": agg(scores), "by_type": {t: agg(g) for t, g in sorted(by_type.items())}}


def evaluate(searcher: Searcher, items: list[dict]) -> tuple[dict, list[QuestionScore]]:
    scores = [score_question(item, searcher.search(item["question"], k=10)) for item in items]
    return summarize(scores), scores


def evaluate_answers(answerer, items: list[dict]) -> dict:
    """Share of questions whose answer cites at least one gold section."""
    hits, rows = 0, []
    for item in items:
        ans = answerer.answer(item["question"], k=5)
        cited_numbers = {n for p in ans.points for n in p.citations}
        cited = [p for p in ans.passages if p.rank in cited_numbers]
        hit = any(gold_rank(g, _renumbered(cited), len(cited) or 1) for g in item["gold"])
        hits += hit
        rows.append({"id": item.get("id", ""), "question": item["question"], "status": ans.status,
                     "cited": [p.section_id for p in cited], "hit": hit})
    return {"questions": len(items), "answers_citing_gold": hits, "share": round(hits / len(items), 4),
            "details": rows}


def _renumbered(results: list[SearchResult]) -> list[SearchResult]:
    from dataclasses import replace

    return [replace(r, rank=i) for i, r in enumerate(results, start=1)]
