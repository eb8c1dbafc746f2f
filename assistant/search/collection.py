"""What an index knows of its documents as a whole: each one's standing (in force or not, and
its relations), the series of yearly plans, document numbers, and places as a hierarchy.
Shared by every engine, computed once from the documents' metadata."""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property

from indexer.metadata import NUMBER_TAIL, normalise_number
from indexer.places import relation
from indexer.store import DocumentRow

from .series import Series, find_series
from .standing import Standing, standings

# A document number written in a question: `苏教办〔2023〕12号`, `[2023]12号`, `(2023)第12号`
NUMBER_IN_TEXT = re.compile(r"([\u4e00-\u9fff]{0,12})\s*[〔\[［(（]\s*((?:19|20)\d{2})\s*[〕\]］)）]\s*第?\s*(\d{1,4})\s*号")
# Superseded documents rank lower by this many standard deviations of the fused scores.
SUPERSEDED_PENALTY = 1.0


class Collection:
    def __init__(self, docs: list[DocumentRow], today: dt.date | None = None):
        self.docs = docs
        self.today = today
        self._by_id = {d.doc_id: d for d in docs}

    @cached_property
    def standing(self) -> dict[str, Standing]:
        return standings(self.docs, self.today)

    @cached_property
    def series(self) -> dict[str, Series]:
        return find_series(self.docs)

    def standing_of(self, doc_id: str) -> Standing:
        return self.standing.get(doc_id) or Standing()

    def superseded(self) -> frozenset[str]:
        """Documents another document of the index takes the place of (repealed or a newer version);
        computed once, as every search and every filter check asks."""
        return self._superseded

    @cached_property
    def _superseded(self) -> frozenset[str]:
        return frozenset(d for d, s in self.standing.items() if s.replaced_by)

    def numbered(self, text: str) -> list[str]:
        """Doc ids of the documents whose number `text` names (prefix optional), in index order."""
        found = []
        for m in NUMBER_IN_TEXT.finditer(text):
            tail = f"〔{m[2]}〕{int(m[3])}号"
            prefix = m[1]
            for d in self.docs:
                number = normalise_number(d.doc_number)
                own = NUMBER_TAIL.search(number)
                if own and f"〔{own[1]}〕{int(own[2])}号" == tail and (not prefix or number.startswith(prefix[-4:])
                                                                     or prefix[-4:] in number):
                    found.append(d.doc_id)
        return list(dict.fromkeys(found))

    def applies_label(self, doc_id: str, wanted: set[str]) -> str:
        """`适用于金坛区` for a document of a place above the wanted ones (a province's notice found
        for one of its districts), else ''."""
        doc = self._by_id.get(doc_id)
        if doc is None or self.place_of(doc, wanted) != "above":
            return ""
        below = [w for w in sorted(wanted) if relation(doc.places or [doc.region], w) == "above"]
        return f"{doc.region}文件，适用于{'、'.join(below)}" if doc.region else f"适用于{'、'.join(below)}"

    def place_of(self, doc: DocumentRow, wanted: set[str]) -> str:
        """`own`, `under`, `above` or '' for the best-standing of the wanted places."""
        chain = doc.places or ([doc.region] if doc.region else [])
        kinds = [relation(chain, w) for w in wanted]
        for k in ("own", "under", "above"):
            if k in kinds:
                return k
        return ""


def annotate(results: list, collection: Collection, regions: set[str] | None = None) -> list:
    """Each result (and each copy) says its document's standing: the status, and a label for the
    citation when the document is no longer in force as it stands; found for places (a filter),
    a province's or city's document says it applies to them (`适用于金坛区`)."""
    copies = [c for r in results for c in getattr(r, "copies", [])]
    for item in [*results, *copies]:
        s = collection.standing_of(item.doc_id)
        item.status, item.status_label = s.status, s.label
        if regions:
            item.place_label = collection.applies_label(item.doc_id, regions)
    return results


def collection_of(engine) -> Collection:
    """The engine's collection (every engine keeps one; a stand-in engine of the tests may not)."""
    found = getattr(engine, "collection", None)
    return found if isinstance(found, Collection) else Collection(engine.documents())


def document_record(doc: DocumentRow, collection: Collection) -> dict:
    """One document as `policyqa documents --json` prints it (fields in docs/documents.md)."""
    standing = collection.standing_of(doc.doc_id)
    series = collection.series.get(doc.doc_id)
    life = doc.lifecycle
    record = {
        "doc_id": doc.doc_id, "source": doc.source, "title": doc.title, "org": doc.org,
        "doc_number": doc.doc_number, "date": doc.date, "year": doc.year, "region": doc.region,
        "places": doc.places, "doc_type": doc.doc_type, "sections": doc.n_sections,
        **standing.to_dict(),
        "effective": (life.get("effective") or {}).get("when", ""),
        "expires": (life.get("expires") or {}).get("when", ""),
        "versions": life.get("versions", []),
        "series": None,
    }
    if series:
        by_id = {d.doc_id: d for d in collection.docs}
        at = series.members.index(doc.doc_id)
        record["series"] = {**series.to_dict(by_id),
                            "previous": series.members[at - 1] if at > 0 else None,
                            "next": series.members[at + 1] if at + 1 < len(series.members) else None}
    return record
