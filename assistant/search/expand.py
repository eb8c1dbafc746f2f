"""Query expansion for questions in everyday words: a domain thesaurus
(`indexer/data/thesaurus.txt`, extendable with a user file) and Chinese numerals
written as digits. Expansions count less than the user's own words."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from indexer.chinese import to_simplified
from indexer.errors import PolicyQAError
from indexer.textutil import cn_to_int
from indexer.tokenize import DATA

THESAURUS = DATA / "thesaurus.txt"
_SPLIT = re.compile(r"[,，、;；]\s*")


class ThesaurusError(PolicyQAError, ValueError):
    """A thesaurus file with a line that cannot be read; the message names file and line."""


@dataclass(frozen=True)
class Expansion:
    term: str  # the official wording searched for
    source: str  # the everyday wording of the query that brought it in


@dataclass
class Thesaurus:
    entries: list[tuple[tuple[str, ...], tuple[str, ...]]]

    @classmethod
    def load(cls, *paths: Path) -> Thesaurus:
        entries = []
        for path in paths:
            entries += read_thesaurus(Path(path))
        return cls(entries)

    @classmethod
    def default(cls) -> Thesaurus:
        extra = os.environ.get("POLICYQA_THESAURUS")
        return cls.load(THESAURUS, *([Path(extra)] if extra else []))

    def expand(self, query: str) -> list[Expansion]:
        q = to_simplified(query)
        out: dict[str, Expansion] = {}
        for triggers, terms in self.entries:
            hit = next((t for t in triggers if t in q), None)
            if hit is None:
                continue
            for term in terms:
                if term not in q and term not in out:
                    out[term] = Expansion(term, hit)
        return list(out.values())


def read_thesaurus(path: Path) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ThesaurusError(f"无法读取词表 {path}：{e}") from e
    entries = []
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.count("=>") != 1:
            raise ThesaurusError(f"{path} 第 {n} 行：应为“日常说法 => 文件用语”，却是：{raw.strip()[:40]}")
        left, right = (side.strip() for side in line.split("=>"))
        triggers = tuple(to_simplified(t) for t in _SPLIT.split(left) if t.strip())
        terms = tuple(to_simplified(t) for t in _SPLIT.split(right) if t.strip())
        if not triggers or not terms:
            raise ThesaurusError(f"{path} 第 {n} 行：“=>” 两边都需要至少一个词：{raw.strip()[:40]}")
        short = [t for t in triggers if len(t) < 2]
        if short:
            raise ThesaurusError(f"{path} 第 {n} 行：日常说法至少两个字（单字会误配太多问题）：{'、'.join(short)}")
        entries.append((triggers, terms))
    return entries


_CN_NUMBER = re.compile(r"[零一二两三四五六七八九十百千]{2,}|[十百千]")


def numeral_expansions(query: str) -> list[Expansion]:
    """`五十年` also searches `50年`: documents write quantities in digits."""
    out = []
    for m in _CN_NUMBER.finditer(query):
        value = cn_to_int(m.group())
        if value is not None and value >= 10:
            tail = query[m.end():m.end() + 1]
            out.append(Expansion(f"{value}{tail}", m.group() + tail))
    return out
