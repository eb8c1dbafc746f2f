"""Retrieval quality on gold questions, in every gold format the project is measured with
(rules in shared/README.md and shared/tools/README.md). A question carries one or more:

- `gold`: sections, each `{"key", "heading"}`: found at rank r when the r-th result's
  normalised text contains the key or its joined section path contains the heading →
  recall@5, hit@5, MRR@10.
- `gold_passages`: texts (a statute's article), cut into runs of 16 characters after
  normalising → cover@5 (the top 5 results together hold at least half of a passage's
  runs: the user was shown it; the headline), touch@5 and touch MRR@10 (a result shares
  any run with it).
- `gold_doc_ids`: file names without suffix → doc hit@5.
- `gold_answer`: an answer span → answer@5 (a top-5 result's text contains it, or, for an
  answer longer than 16 characters, shares a 16-character run with it).

Normalising deletes every character that is not a letter, digit or CJK character.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from indexer.errors import PolicyQAError
from indexer.textutil import match_key

from .engine import SearchEngine
from .results import SearchResult

RUN = 16
GOLD_FIELDS = ("gold", "gold_passages", "gold_doc_ids", "gold_answer")
# Questions of several kinds, judged on the answer (answers/judge.py): `policyqa eval` takes them too.
KIND_FIELDS = ("must", "must_any", "cite", "gap")
# What each gold field is scored by, in the order they are printed.
METRICS = {"gold": ("recall@5", "hit@5", "mrr@10"), "gold_passages": ("cover@5", "touch@5", "touch_mrr@10"),
           "gold_doc_ids": ("doc_hit@5", "doc_own@5"), "gold_answer": ("answer@5",)}


class GoldFileError(PolicyQAError, ValueError):
    pass


@dataclass
class QuestionScore:
    id: str
    question: str
    type: str
    metrics: dict[str, float] = field(default_factory=dict)
    found_ranks: list[int | None] = field(default_factory=list)  # per gold section, or per passage (touch)

    @property
    def recall5(self) -> float:
        return self.metrics.get("recall@5", 0.0)

    @property
    def hit5(self) -> float:
        return self.metrics.get("hit@5", 0.0)

    @property
    def rr10(self) -> float:
        return self.metrics.get("mrr@10", 0.0)

    def perfect(self) -> bool:
        return all(v >= 1 for v in self.metrics.values())


def is_kinds_file(items: list[dict]) -> bool:
    """Questions judged on their answers alone (no retrieval gold)."""
    return all(not any(f in item for f in GOLD_FIELDS) for item in items)


def load_gold(path) -> list[dict]:
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
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
            raise GoldFileError(f"{path} 第 {n} 行缺少 question 字段")
        problem = _gold_problem(item)
        if problem:
            raise GoldFileError(f"{path} 第 {n} 行{problem}")
        items.append(item)
    if not items:
        raise GoldFileError(f"{path} 中没有评测问题")
    return items


def _gold_problem(item: dict) -> str:
    present = [f for f in GOLD_FIELDS + KIND_FIELDS if f in item]
    if not present:
        return "缺少金标准字段（gold、gold_passages、gold_doc_ids、gold_answer，或 must、must_any、cite、gap）"
    for f in ("must", "cite", "gap", "must_any"):
        if f in item and not isinstance(item[f], list):
            return f"的 {f} 应为数组"
    for f in ("gold", "gold_passages", "gold_doc_ids"):
        if f in item and not isinstance(item[f], list):
            return f"的 {f} 应为数组"
    if "gold_answer" in item and not isinstance(item["gold_answer"], str):
        return "的 gold_answer 应为字符串"
    return ""


# --- matching rules ------------------------------------------------------------------------

def runs(text: str) -> list[str]:
    """A text's 16-character runs after normalising (a shorter text is one run)."""
    key = match_key(text)
    if len(key) <= RUN:
        return [key] if key else []
    return [key[i:i + RUN] for i in range(0, len(key) - RUN + 1, RUN)]


def gold_rank(gold: dict, results: list[SearchResult], depth: int) -> int | None:
    key = match_key(gold.get("key", ""))
    heading = match_key(gold.get("heading", ""))
    for r in results[:depth]:
        if (key and key in match_key(r.text)) or (heading and heading in match_key("".join(r.section_path))):
            return r.rank
    return None


def answer_found(answer: str, text: str) -> bool:
    """The answer rule: contained, or (past 16 characters) sharing a 16-character run."""
    key, hay = match_key(answer), match_key(text)
    if not key:
        return False
    return key in hay or (len(key) > RUN and any(r in hay for r in runs(answer)))


def _section_scores(gold: list[dict], results: list[SearchResult]) -> tuple[dict, list]:
    ranks = [gold_rank(g, results, 10) for g in gold]
    in5 = [r is not None and r <= 5 for r in ranks]
    first = min((r for r in ranks if r is not None), default=None)
    return {"recall@5": sum(in5) / len(ranks) if ranks else 0.0, "hit@5": 1.0 if any(in5) else 0.0,
            "mrr@10": 1.0 / first if first else 0.0}, ranks


def _passage_scores(passages: list[str], results: list[SearchResult]) -> tuple[dict, list]:
    texts = [match_key(r.text) for r in results]
    top5 = texts[:5]
    covered, touched, ranks = [], [], []
    for p in passages:
        rs = runs(p)
        if not rs:
            continue
        held = sum(1 for run in rs if any(run in t for t in top5))
        covered.append(2 * held >= len(rs))
        rank = next((i for i, t in enumerate(texts[:10], start=1) if any(run in t for run in rs)), None)
        ranks.append(rank)
        touched.append(rank is not None and rank <= 5)
    if not ranks:
        return {"cover@5": 0.0, "touch@5": 0.0, "touch_mrr@10": 0.0}, []
    first = min((r for r in ranks if r is not None), default=None)
    return {"cover@5": sum(covered) / len(covered), "touch@5": sum(touched) / len(touched),
            "touch_mrr@10": 1.0 / first if first else 0.0}, ranks


def _doc_scores(doc_ids: list[str], results: list[SearchResult]) -> dict:
    wanted = {str(d) for d in doc_ids}
    def hit(sources) -> float:
        return 1.0 if any(PurePosixPath(source).stem in wanted for source in sources) else 0.0

    # doc_hit@5 counts the documents a result lists as saying the same passage (they are shown,
    # each with a link); doc_own@5 only each result's own document, the rule of
    # ../shared/tools/README.md written before results listed copies.
    return {"doc_hit@5": hit(s for r in results[:5] for s in (r.source, *(c.source for c in getattr(r, "copies", ())))),
            "doc_own@5": hit(r.source for r in results[:5])}


def score_question(item: dict, results: list[SearchResult]) -> QuestionScore:
    metrics: dict[str, float] = {}
    ranks: list = []
    if "gold" in item:
        found, ranks = _section_scores(item["gold"], results)
        metrics.update(found)
    if "gold_passages" in item:
        found, passage_ranks = _passage_scores(item["gold_passages"], results)
        metrics.update(found)
        ranks = ranks or passage_ranks
    if "gold_doc_ids" in item:
        metrics.update(_doc_scores(item["gold_doc_ids"], results))
    if "gold_answer" in item:
        metrics["answer@5"] = 1.0 if any(answer_found(item["gold_answer"], r.text) for r in results[:5]) else 0.0
    return QuestionScore(id=str(item.get("id", "")), question=item["question"], type=item.get("type", ""),
                         metrics=metrics, found_ranks=ranks)


def summarize(scores: list[QuestionScore]) -> dict:
    def agg(group: list[QuestionScore]) -> dict:
        out: dict = {"questions": len(group)}
        names = [m for ms in METRICS.values() for m in ms]
        for name in names:
            values = [s.metrics[name] for s in group if name in s.metrics]
            if values:
                out[name] = round(sum(values) / len(values), 4)
        return out

    by_type: dict[str, list[QuestionScore]] = defaultdict(list)
    for s in scores:
        by_type[s.type or "-"].append(s)
    return {"overall": agg(scores), "by_type": {t: agg(g) for t, g in sorted(by_type.items())}}


def evaluate(searcher: SearchEngine, items: list[dict], k: int = 10) -> tuple[dict, list[QuestionScore]]:
    scores = [score_question(item, _search(searcher, item["question"], k)) for item in items]
    return summarize(scores), scores


def _search(searcher: SearchEngine, question: str, k: int) -> list[SearchResult]:
    """A question that cannot be searched (no letter or digit) scores as one with no result."""
    from .query import QueryError

    try:
        return searcher.search(question, k=k)
    except QueryError:
        return []


def metric_line(summary: dict) -> str:
    """`recall@5 0.9933   hit@5 1.0000 …` for the metrics a summary has."""
    return "   ".join(f"{name} {value:.4f}" for name, value in summary.items() if name != "questions")


# --- answers ---------------------------------------------------------------------------------

def evaluate_answers(answerer, items: list[dict]) -> dict:
    """For gold files with sections (`gold`): the share of answers citing a gold section. With
    `gold_answer`: the share of answers whose text contains it (the answer rule above), beside
    the share of questions whose top five passages do (what the answer could have used)."""
    counts = {"cite": 0, "with_sections": 0, "contain": 0, "with_answer": 0, "passages_contain": 0, "refused": 0}
    rows, lengths = [], []
    for item in items:
        ans = answerer.answer(item["question"], k=5)
        counts["refused"] += ans.status != "ok"
        if ans.status == "ok":
            lengths.append(len(ans.plain_text()))
        cited_numbers = {n for p in ans.points for n in p.citations}
        cited = [p for p in ans.passages if p.rank in cited_numbers]
        row = {"id": item.get("id", ""), "question": item["question"], "status": ans.status,
               "cited": [p.section_id for p in cited]}
        if item.get("gold"):
            counts["with_sections"] += 1
            row["hit"] = any(gold_rank(g, _renumbered(cited), len(cited) or 1) for g in item["gold"])
            counts["cite"] += row["hit"]
        if "gold_answer" in item:
            counts["with_answer"] += 1
            row["contains_answer"] = answer_found(item["gold_answer"], ans.plain_text())
            row["passages_contain"] = any(answer_found(item["gold_answer"], p.text) for p in ans.passages[:5])
            counts["contain"] += row["contains_answer"]
            counts["passages_contain"] += row["passages_contain"]
        rows.append(row)
    n = len(items)
    result = {"questions": n, "refused": counts["refused"], "details": rows}
    if lengths:
        result["answer_chars"] = {"median": int(statistics.median(lengths)),
                                  "p90": int(sorted(lengths)[int(0.9 * (len(lengths) - 1))])}
    if counts["with_sections"]:
        result.update({"answers_citing_gold": counts["cite"], "share": round(counts["cite"] / counts["with_sections"], 4)})
    if counts["with_answer"]:
        result.update({"with_gold_answer": counts["with_answer"], "answers_containing_gold": counts["contain"],
                       "answer_share": round(counts["contain"] / counts["with_answer"], 4),
                       "passages_containing_gold": counts["passages_contain"],
                       "of_what_passages_hold": round(counts["contain"] / max(1, counts["passages_contain"]), 4)})
    return result


def _renumbered(results: list[SearchResult]) -> list[SearchResult]:
    from dataclasses import replace

    return [replace(r, rank=i) for i, r in enumerate(results, start=1)]
