"""Extractive answers: the sentences of the retrieved passages that best answer the
question, de-duplicated by maximal marginal relevance, grouped as a few points,
each ending with markers [n] for the passages it comes from. Nothing is written
that is not in a document; when nothing relevant was found, the answer says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from indexer.textutil import split_sentences
from indexer.tokenize import tokenize

from .engine import SearchEngine
from .llm import LLMConfig, LLMError, build_messages, check_markers, markers_in, stream_chat
from .retrieve import Filters, SearchResult, clean_query

NO_CONTENT = "问题中没有可检索的内容，请换一种问法，例如：发展党员有哪些要求"
NOT_FOUND = "没有找到与这个问题相关的内容。可以换个说法，或放宽年份、地区、文档筛选。"

# Relevance = cosine of the passage + COVERAGE_WEIGHT × share of the query's words (IDF-weighted)
# it contains. The floor is calibrated per model with bench/calibrate_answers.py on the 50 dev
# questions (all must pass) and 20 off-topic ones (weather, cooking, medicine…): m3e-small (torch)
# keeps all 50 at 0.68 and rejects 19 of 20; the ONNX int8 model keeps all 50 at 0.71 and rejects 20.
COVERAGE_WEIGHT = 0.1
CALIBRATED = {"m3e-small": 0.68, "m3e-small:onnx-int8": 0.71}
MAX_POINTS = 5
SENTENCES_PER_POINT = 2
POINT_CHARS = 140


@dataclass
class AnswerPoint:
    text: str
    citations: list[int]


@dataclass
class Answer:
    question: str
    status: str  # ok | not_found | no_content
    points: list[AnswerPoint] = field(default_factory=list)
    passages: list[SearchResult] = field(default_factory=list)
    message: str = ""
    mode: str = "extractive"  # or generative
    text: str = ""  # the generative answer as written, with [n] markers
    notice: str = ""  # e.g. the language model failed and this is the extractive answer
    removed_markers: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "mode": self.mode,
            "message": self.message,
            "notice": self.notice,
            "points": [asdict(p) for p in self.points],
            "text": self.text,
            "removed_markers": self.removed_markers,
            "passages": [p.to_json() for p in self.passages],
        }


class Answerer:
    def __init__(self, searcher: SearchEngine, min_relevance: float | None = None):
        self.searcher = searcher
        model = searcher.model_name
        self.min_relevance = min_relevance if min_relevance is not None else CALIBRATED.get(model, 0.0)
        self._df, self._n = searcher.document_frequencies()

    # -- relevance ----------------------------------------------------------------

    def idf(self, term: str) -> float:
        return math.log((self._n + 1) / (self._df.get(term, 0) + 0.5))

    def coverage(self, terms: set[str], text: str) -> float:
        total = sum(self.idf(t) for t in terms)
        return sum(self.idf(t) for t in terms if t in text) / total if total else 0.0

    def relevance(self, terms: set[str], r: SearchResult) -> float:
        context = r.title + "".join(r.section_path) + r.text
        return r.dense + COVERAGE_WEIGHT * self.coverage(terms, context)

    def retrieve(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """Relevant passages only; the status says whether there are any."""
        question = clean_query(question)
        terms = set(tokenize(question))
        if not terms:
            return Answer(question, "no_content", message=NO_CONTENT)
        results = self.searcher.search(question, k=k, filters=filters)
        kept = [r for r in results if self.relevance(terms, r) >= self.min_relevance]
        if not kept:
            return Answer(question, "not_found", message=NOT_FOUND)
        for n, r in enumerate(kept, start=1):
            r.rank = n
        return Answer(question, "ok", passages=kept)

    # -- extractive answer ------------------------------------------------------------

    def answer(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        ans = self.retrieve(question, k, filters)
        if ans.status == "ok":
            ans.points = self.extract(ans.question, ans.passages)
        return ans

    def generate(self, question: str, config: LLMConfig, k: int = 5, filters: Filters | None = None) -> Iterator[Answer]:
        """Stream an answer written by a language model from the passages; on failure the
        extractive answer, with a notice. Every yield is the answer so far."""
        ans = self.retrieve(question, k, filters)
        if ans.status != "ok":
            yield ans
            return
        ans.mode = "generative"
        n, raw = len(ans.passages), ""
        try:
            for delta in stream_chat(config, build_messages(ans.question, ans.passages)):
                raw += delta
                ans.text, _ = check_markers(raw, n)
                yield ans
            ans.text, ans.removed_markers = check_markers(raw, n)
            if not ans.text.strip():
                raise LLMError("模型没有返回内容")
        except LLMError as e:
            ans.mode, ans.text, ans.removed_markers = "extractive", "", []
            ans.points = self.extract(ans.question, ans.passages)
            ans.notice = f"生成式回答不可用：{e}。以下为摘录自原文的回答。"
            yield ans
            return
        ans.points = points_from_text(ans.text)
        if ans.removed_markers:
            ans.notice = f"已删除不指向任何段落的引用：{'、'.join(ans.removed_markers)}"
        yield ans

    def extract(self, question: str, passages: list[SearchResult]) -> list[AnswerPoint]:
        terms = set(tokenize(question))
        candidates = []  # (passage number, position, sentence)
        for n, p in enumerate(passages, start=1):
            heading = p.section_path[-1] if p.section_path else ""
            for pos, s in enumerate(split_sentences(p.text)):
                if _is_heading_sentence(s, heading) or len(re.sub(r"\W", "", s)) < 6:
                    continue
                candidates.append((n, pos, s))
        if not candidates:
            return [AnswerPoint(passages[0].text.strip(), [1])]
        vectors = self.searcher.encode([question] + [c[2] for c in candidates])
        q, sv = vectors[0], vectors[1:]
        scores = sv @ q + np.array([0.15 * self.coverage(terms, c[2]) + 0.02 * (len(passages) - c[0]) / len(passages)
                                    for c in candidates])
        chosen = _mmr(scores, sv, MAX_POINTS * SENTENCES_PER_POINT, floor=float(scores.max()) - 0.08)
        return _group(candidates, chosen, scores, sv)


def points_from_text(text: str) -> list[AnswerPoint]:
    points = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.、．])\s*", "", line).strip()
        if line:
            points.append(AnswerPoint(line, markers_in(line)))
    return points


def _is_heading_sentence(sentence: str, heading: str) -> bool:
    bare = re.sub(r"^[\d一二三四五六七八九十（）().、．]+", "", sentence).rstrip("。；;")
    return bool(heading) and bare and bare in heading


def _mmr(scores: np.ndarray, vectors: np.ndarray, limit: int, floor: float, lam: float = 0.8) -> list[int]:
    chosen: list[int] = []
    pool = [i for i in np.argsort(-scores) if scores[i] >= floor]
    while pool and len(chosen) < limit:
        if not chosen:
            best = pool[0]
        else:
            sim = vectors[pool] @ vectors[chosen].T
            mmr = lam * scores[pool] - (1 - lam) * sim.max(axis=1)
            best = pool[int(np.argmax(mmr))]
        chosen.append(best)
        pool.remove(best)
    return chosen


def _group(candidates, chosen: list[int], scores: np.ndarray, vectors: np.ndarray) -> list[AnswerPoint]:
    """One point per passage (its chosen sentences in document order); a sentence that
    repeats one already used only adds its passage's marker to that point."""
    points: dict[int, list[int]] = {}  # passage → chosen candidate indices
    extra: dict[int, set[int]] = {}  # passage → other passages saying the same
    order: list[int] = []
    for i in chosen:
        n = candidates[i][0]
        twin = next((j for js in points.values() for j in js
                     if candidates[j][0] != n and float(vectors[i] @ vectors[j]) >= 0.92), None)
        if twin is not None:
            extra.setdefault(candidates[twin][0], set()).add(n)
            continue
        if n not in points:
            if len(points) >= MAX_POINTS:
                continue
            points[n] = []
            order.append(n)
        used = sum(len(candidates[j][2]) for j in points[n])
        if not points[n] or (len(points[n]) < SENTENCES_PER_POINT and used + len(candidates[i][2]) <= POINT_CHARS):
            points[n].append(i)
    result = []
    for n in order:
        idx = sorted(points[n], key=lambda i: candidates[i][1])
        text = "".join(candidates[i][2] for i in idx)
        result.append(AnswerPoint(text, sorted({n} | extra.get(n, set()))))
    return result
