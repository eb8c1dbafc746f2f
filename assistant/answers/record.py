"""An answer as every interface shows it: points with citations, the passages they cite, and what
the answer says about itself (a gap, how the question was understood, its scope)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..search.results import SearchResult
from .when import mark_relative


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
    gap: str = ""  # `文件中没有找到…的具体学时数。相关内容：` before the closest points
    understood: str = ""  # how relative time was read: `按 2024 年理解`
    kind: str = "lookup"  # what the question asks: answers/kinds
    lead: str = ""  # one line that answers: the figure, the count, the years, or that there is none
    scope: dict = field(default_factory=dict)  # the scope named, whether it was met, what stands in
    table: list[dict] = field(default_factory=list)  # a comparison's sides: {side, text, citations}

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "mode": self.mode,
            "message": self.message,
            "notice": self.notice,
            "understood": self.understood,
            "gap": self.gap,
            "kind": self.kind,
            "lead": self.lead,
            "scope": self.scope,
            "table": self.table,
            "points": [asdict(p) for p in self.points],
            "text": self.text,
            "removed_markers": self.removed_markers,
            "passages": [p.to_json() for p in self.passages],
        }

    def plain_text(self) -> str:
        """What the answer says, without markers: the gap notice and every point."""
        return self.gap + self.lead + "".join(p.text for p in self.points) + self.text

    def with_years_marked(self) -> Answer:
        """Each point's (and table row's) `今年`/`去年`/`明年` with the year it means in the document
        it quotes."""
        for point in self.points:
            year = self._year_of(point.citations)
            point.text = mark_relative(point.text, year) if year else point.text
        for row in self.table:
            year = self._year_of(row.get("citations", []))
            row["text"] = mark_relative(row["text"], year) if year else row["text"]
        return self

    def _year_of(self, citations: list[int]) -> int | None:
        cited = [self.passages[c - 1] for c in citations if 0 < c <= len(self.passages)]
        return cited[0].year if cited else None
