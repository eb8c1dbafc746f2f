"""Which documents of an index are in force, and how they relate: from what each document says of
itself (indexer.lifecycle) read across the whole collection.

- A document repealed by name (`《X》同时废止`, `关于废止《X》的决定`) by another document of the index is 已废止.
- Of several versions of one title, the older ones are 已修订 and point to the newest.
- A document amended (`关于修改《X》的决定`, `X修正案（十二）`) by a later document of the index is 已修订.
- One whose own text sets a start after today is 尚未施行; one past its 有效期 is 已废止.
- One that says when it took effect, or carries dated adoption notes, is 现行有效; any other is 不明.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from indexer.lifecycle import canonical_title
from indexer.store import DocumentRow

IN_FORCE, REVISED, REPEALED, NOT_YET, UNKNOWN = "现行有效", "已修订", "已废止", "尚未施行", "不明"
STATUSES = (IN_FORCE, REVISED, REPEALED, NOT_YET, UNKNOWN)


@dataclass
class Relation:
    kind: str  # supersedes, superseded_by, amends, amended_by
    title: str  # the other document's title (as the sentence names it when the index lacks it)
    doc_id: str | None  # the other document when the index holds it
    sentence: str  # what the relation is read from

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Standing:
    status: str = UNKNOWN
    reason: str = ""  # the sentence the status is read from
    relations: list[Relation] = field(default_factory=list)
    replaced_by: str | None = None  # the document of the index that takes this one's place

    @property
    def label(self) -> str:
        """What a citation of this document says of it: `已被《…》废止`, or ''."""
        replaced = next((r for r in self.relations if r.kind == "superseded_by"), None)
        if self.status == REPEALED:
            return f"已被《{replaced.title}》废止" if replaced else "已失效"
        if self.status == REVISED:
            amended = replaced or next((r for r in self.relations if r.kind == "amended_by"), None)
            return f"已被《{amended.title}》修订" if amended else REVISED
        if self.status == NOT_YET:
            return NOT_YET
        return ""

    def to_dict(self) -> dict:
        return {"status": self.status, "status_reason": self.reason, "status_label": self.label,
                "relations": [r.to_dict() for r in self.relations], "replaced_by": self.replaced_by}


def _version_date(doc: DocumentRow) -> str:
    return doc.date or (f"{doc.year:04d}" if doc.year else "")


def _titles(docs: list[DocumentRow]) -> dict[str, list[DocumentRow]]:
    by_title: dict[str, list[DocumentRow]] = {}
    for d in docs:
        by_title.setdefault(canonical_title(d.title), []).append(d)
    return by_title


def standings(docs: list[DocumentRow], today: dt.date | None = None) -> dict[str, Standing]:
    """Every document's standing, by doc id."""
    today_iso = (today or dt.date.today()).isoformat()
    out = {d.doc_id: Standing() for d in docs}
    by_title = _titles(docs)
    _versions(by_title, out)
    for doc in docs:
        facts = doc.lifecycle
        for said in facts.get("repeals", []):
            _link(out, doc, said, by_title, "supersedes", "superseded_by", REPEALED)
        for said in facts.get("amends", []):
            _link(out, doc, said, by_title, "amends", "amended_by", REVISED)
    for doc in docs:
        _own_dates(out[doc.doc_id], doc, today_iso)
    return out


def _versions(by_title: dict[str, list[DocumentRow]], out: dict[str, Standing]) -> None:
    for same in by_title.values():
        dated = sorted((d for d in same if _version_date(d)), key=_version_date)
        if len(dated) < 2:
            continue
        newest = dated[-1]
        note = (newest.lifecycle.get("versions") or [{}])[-1].get("sentence", "") or \
            f"同名文件的较新版本（{_version_date(newest)}）"
        for old in dated[:-1]:
            if _version_date(old) == _version_date(newest):
                continue
            s = out[old.doc_id]
            s.status, s.reason, s.replaced_by = REVISED, note, newest.doc_id
            s.relations.append(Relation("superseded_by", f"{newest.title}（{_version_date(newest)}）", newest.doc_id, note))
            out[newest.doc_id].relations.append(
                Relation("supersedes", f"{old.title}（{_version_date(old)}）", old.doc_id, note))


def _link(out, doc: DocumentRow, said: dict, by_title, forward: str, backward: str, status: str) -> None:
    """`doc` repeals or amends the document titled `said['title']`: both sides recorded; the
    target's versions older than `doc` take the status (a newer version already holds the change)."""
    key = canonical_title(said["title"])
    if key == canonical_title(doc.title):
        return  # a text repealing an earlier text of its own title: the versions say so already
    targets = [t for t in by_title.get(key, []) if t.doc_id != doc.doc_id]
    mine = _version_date(doc)
    older = [t for t in targets if not mine or not _version_date(t) or _version_date(t) < mine]
    out[doc.doc_id].relations.append(Relation(forward, said["title"], older[-1].doc_id if older else None,
                                              said["sentence"]))
    for t in older:
        s = out[t.doc_id]
        s.relations.append(Relation(backward, doc.title, doc.doc_id, said["sentence"]))
        if s.status != REPEALED:
            s.status, s.reason = status, said["sentence"]
            if status == REPEALED:
                s.replaced_by = doc.doc_id


_ISO = re.compile(r"\d{4}-\d\d-\d\d")
_IN_FORCE_NOTES = {"施行", "公布", "发布", "修正", "修订"}


def _own_dates(s: Standing, doc: DocumentRow, today: str) -> None:
    """What the document's own dates say, where the collection said nothing stronger."""
    facts = doc.lifecycle
    if s.status in (REPEALED, REVISED):
        return
    expires = facts.get("expires") or {}
    if expires.get("when") and expires["when"] < today:
        s.status, s.reason = REPEALED, expires["sentence"]
        return
    effective = facts.get("effective") or {}
    when = effective.get("when", "")
    if _ISO.fullmatch(when) and when > today:
        s.status, s.reason = NOT_YET, effective["sentence"]
    elif effective or any(v["what"] in _IN_FORCE_NOTES for v in facts.get("versions", [])):
        # a note that the text was published, took effect or was revised; a bare `通过` (a resolution
        # that approved a report) says nothing of force
        s.status = IN_FORCE
        s.reason = effective.get("sentence") or facts["versions"][-1]["sentence"]
