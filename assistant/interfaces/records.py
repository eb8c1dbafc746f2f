"""The JSON records of search, answers and documents, the same for `policyqa … --json`, the HTTP
API (`/api/v1/`) and the MCP tools. Fields are documented in docs/api.md; a field is only ever added
within one RECORDS_VERSION."""

from __future__ import annotations

from indexer.errors import PolicyQAError

from ..answers.record import Answer
from ..drafting.compare import section_info
from ..search.collection import collection_of, document_record
from ..search.engine import SearchEngine
from ..search.results import SearchResult
from ..search.veil import INTERNAL, PUBLIC

RECORDS_VERSION = 1


class NotFound(PolicyQAError, LookupError):
    """A document or section the index does not have; the message is for users."""


def result_record(r: SearchResult) -> dict:
    return {**r.to_json(), "citation": r.citation, "link": section_link(r.doc_id, r.section_id.partition("#")[2])}


def search_record(query: str, results: list[SearchResult]) -> dict:
    return {"query": query, "results": [result_record(r) for r in results]}


def answer_record(answer: Answer) -> dict:
    record = answer.to_json()
    record["passages"] = [result_record(p) for p in answer.passages]
    return record


def section_link(doc_id: str, key: str = "") -> str:
    """The page's address of a section, relative to the server's root."""
    return f"/?doc={doc_id}" + (f"&section={key}" if key else "")


def documents_records(engine: SearchEngine, statuses: set[str] | None = None,
                      internal: frozenset[str] = frozenset()) -> list[dict]:
    """Every document's record; `visibility` says which are internal (`internal` holds their ids)."""
    collection = collection_of(engine)
    records = [{**document_record(d, collection), "visibility": INTERNAL if d.doc_id in internal else PUBLIC}
               for d in engine.documents()]
    return [r for r in records if not statuses or r["status"] in statuses]


def document_tree(engine: SearchEngine, doc_id: str, internal: frozenset[str] = frozenset()) -> dict:
    """One document's record with its sections as a tree: `{key, heading, path, has_text, children}`."""
    doc = engine.document(doc_id)
    if doc is None:
        raise NotFound(f"找不到文档：{doc_id}（文档 ID 可从 /api/v1/documents 或检索结果中得到）")
    nodes: dict[str, dict] = {}
    roots: list[dict] = []
    for s in sorted(engine.sections(doc_id), key=lambda s: s.row):
        node = {"key": s.key, "section_id": f"{doc_id}#{s.key}", "heading": s.path[-1] if s.path else "",
                "path": s.path, "has_text": s.has_text, "children": []}
        nodes[s.key] = node
        parent = nodes.get(s.parent) if s.parent else None
        (parent["children"] if parent is not None else roots).append(node)
    return {**document_record(doc, collection_of(engine)), "visibility": INTERNAL if doc_id in internal else PUBLIC,
            "link": section_link(doc_id), "sections": roots}


def section_record(engine: SearchEngine, section_id: str) -> dict:
    info = section_info(engine, section_id)
    doc_id, _, key = info.section_id.partition("#")
    return {"section_id": info.section_id, "doc_id": doc_id, "title": info.title, "year": info.year,
            "region": info.region, "doc_number": info.doc_number, "date": info.date, "path": info.path,
            "citation": info.citation, "text": info.text, "link": section_link(doc_id, key)}
