"""What changed between two plans: each item of the newer one kept (沿用), reworded (调整) or new
(新增), each item of the older one left out (删除), and the targets whose figures changed
(`不少于32学时` → `不少于40学时`).

Items are the sections that say something. An item of one plan follows an item of the other
when they share enough of their wording (character pairs) or the model finds them near
copies; each item is matched at most once, the closest pairs first.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from indexer.errors import PolicyQAError

from ..search.engine import SearchEngine
from .compare import SectionInfo, diff_ops, section_info
from .precedents import DocRef
from .targets import find_targets

KEPT, REWORDED, ADDED, DROPPED = "沿用", "调整", "新增", "删除"
# Two items are one item reworded when this share of their character pairs is common (Dice),
# or the model puts them this close. Found on the seeds' and the reports' consecutive pairs:
# unrelated items of one plan share under 0.25 of their pairs.
SAME_ITEM_PAIRS = 0.35
SAME_ITEM_COSINE = 0.93
KEPT_PAIRS = 0.95
NOT_WORD = re.compile(r"[\W_]+")


class DocumentNotFound(PolicyQAError, LookupError):
    pass


@dataclass
class TargetChange:
    before: str  # 不少于32学时
    after: str  # 不少于40学时
    counts: str  # what it counts, in the newer plan's words


@dataclass
class ItemChange:
    change: str  # 沿用 / 调整 / 新增 / 删除
    before: SectionInfo | None
    after: SectionInfo | None
    similarity: float = 0.0
    targets: list[TargetChange] = field(default_factory=list)
    ops: list[tuple[str, str, str]] = field(default_factory=list)  # character diff of a reworded item

    def to_json(self) -> dict:
        return {"change": self.change, "before": _side(self.before), "after": _side(self.after),
                "similarity": round(self.similarity, 4), "targets": [asdict(t) for t in self.targets],
                "ops": [{"op": op, "a": x, "b": y} for op, x, y in self.ops]}


def _side(s: SectionInfo | None) -> dict | None:
    return None if s is None else {"section_id": s.section_id, "path": s.path, "citation": s.citation, "text": s.text}


@dataclass
class ChangeList:
    before: DocRef
    after: DocRef
    items: list[ItemChange]

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for i in self.items if i.change == k) for k in (KEPT, REWORDED, ADDED, DROPPED)}

    def to_json(self) -> dict:
        return {"before": self.before.__dict__, "after": self.after.__dict__, "counts": self.counts(),
                "targets_changed": sum(len(i.targets) for i in self.items),
                "items": [i.to_json() for i in self.items]}


def find_document(engine: SearchEngine, name: str):
    """A document by its id, file name or a part of its title that names only it."""
    name = name.strip()
    docs = engine.documents()
    exact = [d for d in docs if name in (d.doc_id, d.source, d.source.rsplit("/", 1)[-1]) or name == d.title]
    found = exact or [d for d in docs if name and (name in d.title or name in d.source)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DocumentNotFound(f"找不到文件：{name}（可用文档 ID、文件名或标题片段，policyqa documents 列出全部）")
    names = "；".join(f"{d.title}（{d.doc_id}）" for d in found[:5])
    raise DocumentNotFound(f"“{name}”对应多个文件：{names}{' 等' if len(found) > 5 else ''}。请写得更具体或用文档 ID")


def plan_items(engine: SearchEngine, doc) -> list[SectionInfo]:
    """The sections of a plan that say something (not the opening, not bare headings)."""
    return [section_info(engine, f"{doc.doc_id}#{s.key}") for s in sorted(engine.sections(doc.doc_id), key=lambda s: s.row)
            if s.has_text and not s.key.startswith("p")]


def _pairs(text: str) -> set[str]:
    t = NOT_WORD.sub("", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def match_items(engine: SearchEngine, before: list[str], after: list[str]) -> list[tuple[int, int, float]]:
    """(i, j, similarity) for each item of `after` that follows item i of `before`, closest first."""
    if not before or not after:
        return []
    pa, pb = [_pairs(t) for t in before], [_pairs(t) for t in after]
    dice = np.array([[_dice(x, y) for y in pb] for x in pa])
    cos = engine.encode(before) @ engine.encode(after).T
    score = np.maximum(dice, np.where(cos >= SAME_ITEM_COSINE, dice + 0.5, 0.0))
    pairs, used_a, used_b = [], set(), set()
    for flat in np.argsort(-score, axis=None):
        i, j = divmod(int(flat), len(after))
        if score[i, j] < SAME_ITEM_PAIRS:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j, float(dice[i, j])))
    return pairs


def target_changes(before: str, after: str) -> list[TargetChange]:
    """Targets of one item whose figure changed: matched by unit and by what they count."""
    old, new = find_targets(before), find_targets(after)
    out = []
    for t in new:
        same_unit = [o for o in old if o.unit == t.unit]
        if not same_unit:
            continue
        o = max(same_unit, key=lambda o: _dice(_pairs(o.counts), _pairs(t.counts)))
        if o.value != t.value and _dice(_pairs(o.counts), _pairs(t.counts)) >= 0.3:
            out.append(TargetChange(o.value, t.value, t.counts))
    return out


def _ref(doc) -> DocRef:
    return DocRef(doc.doc_id, doc.title, doc.year, doc.region)


def changes_between(engine: SearchEngine, first: str, second: str) -> ChangeList:
    """The change list from document `first` (the older plan) to `second`."""
    a, b = find_document(engine, first), find_document(engine, second)
    items_a, items_b = plan_items(engine, a), plan_items(engine, b)
    follows = {j: (i, s) for i, j, s in match_items(engine, [x.text for x in items_a], [y.text for y in items_b])}
    out = []
    for j, item in enumerate(items_b):
        if j not in follows:
            out.append(ItemChange(ADDED, None, item))
            continue
        i, similarity = follows[j]
        old = items_a[i]
        kept = similarity >= KEPT_PAIRS and NOT_WORD.sub("", old.text) == NOT_WORD.sub("", item.text)
        change = ItemChange(KEPT if kept else REWORDED, old, item, similarity, target_changes(old.text, item.text))
        if not kept:
            change.ops = diff_ops(old.text, item.text)[0]
        out.append(change)
    matched = {i for i, _ in follows.values()}
    out += [ItemChange(DROPPED, x, None) for i, x in enumerate(items_a) if i not in matched]
    return ChangeList(_ref(a), _ref(b), out)
