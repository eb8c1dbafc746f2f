"""Answers to questions of several kinds, judged as `shared/tools/kinds_eval.py` judges them (the
reference: the same rules, the same result). A question passes when its answer's JSON (its gap,
message, notice and understood text, with the points and the written text):

- holds at least `need` (default all) of `must` (normalised substrings) and one of each `must_any`;
- cites a passage whose title or source contains each `cite` entry;
- for `gap`: says that nothing exists (没有/未/暂无/无) with every `gap` token in the gap, message,
  notice or understood text, instead of passing other years' or places' text off as the answer.

`corpus` names the index a question is asked of and `today` the date `今年` means.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

KIND_FIELDS = ("must", "must_any", "cite", "gap")
_NOT_WORD = re.compile(r"[\W_]+")
_NONE_SAID = re.compile(r"没有|未|暂无|无")


def normalised(text: str) -> str:
    return _NOT_WORD.sub("", text or "")


def judge(item: dict, answer: dict) -> tuple[bool, str]:
    """Whether an answer (`Answer.to_json()`) passes, and why not."""
    said = " ".join(str(answer.get(k) or "") for k in ("gap", "message", "notice", "understood"))
    body = " ".join(p.get("text", "") for p in answer.get("points") or []) + " " + str(answer.get("text") or "")
    if item.get("gap"):
        ok = bool(_NONE_SAID.search(said)) and all(t in said for t in item["gap"])
        return ok, "" if ok else "no gap stated"
    everything = normalised(said + body)
    must = item.get("must", [])
    found = sum(normalised(m) in everything for m in must)
    need = item.get("need", len(must))
    if found < need:
        return False, f"must {found}/{need}"
    for group in item.get("must_any", []):
        if not any(normalised(g) in everything for g in group):
            return False, f"none of {group}"
    cited = {c for p in answer.get("points") or [] for c in p.get("citations", [])}
    names = [f"{p.get('title', '')} {p.get('source', '')}" for p in answer.get("passages") or [] if p.get("rank") in cited]
    for c in item.get("cite", []):
        if not any(c in n for n in names):
            return False, f"no cited passage from {c}"
    return True, ""


def evaluate_kinds(answerer_for: Callable[[str | None], object | None], items: list[dict],
                   today: str | None = None) -> dict:
    """Pass counts overall and per kind; `answerer_for(corpus)` gives the answerer of a question's
    corpus (None: no index was given for it, the question is skipped)."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows, skipped = [], []
    for item in items:
        answerer = answerer_for(item.get("corpus"))
        if answerer is None:
            skipped.append(item.get("id", item["question"]))
            continue
        answerer.set_today(item.get("today") or today)
        answer = answerer.answer(item["question"], k=5).to_json()
        ok, why = judge(item, answer)
        kind = item.get("kind", "-")
        per[kind][0] += ok
        per[kind][1] += 1
        rows.append({"id": item.get("id", ""), "question": item["question"], "kind": kind, "passed": ok,
                     "why": why, "answer_kind": answer.get("kind")})
    passed = sum(v[0] for v in per.values())
    return {"questions": len(rows), "passed": passed, "by_kind": {k: {"passed": v[0], "questions": v[1]}
                                                                  for k, v in sorted(per.items())},
            "skipped": skipped, "details": rows}
