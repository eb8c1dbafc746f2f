"""The commands about the documents themselves: `documents` (metadata, standing, relations, series)
and `changes` (what changed between two plans)."""

from __future__ import annotations

import json

from .output import UserError, _emit, _searcher


def cmd_documents(args) -> int:
    from ..present.plain import documents_text
    from ..search.collection import collection_of, document_record
    from ..search.standing import STATUSES

    wanted = set(args.status or [])
    unknown = wanted - set(STATUSES)
    if unknown:
        raise UserError(f"未知状态：{'、'.join(sorted(unknown))}（可选：{'、'.join(STATUSES)}）")
    engine = _searcher(args)
    collection = collection_of(engine)
    records = [document_record(d, collection) for d in engine.documents()]
    records = [r for r in records if not wanted or r["status"] in wanted]
    if args.json:
        for r in records:
            print(json.dumps(r, ensure_ascii=False))
    else:
        print(documents_text(records))
    return 0


def cmd_changes(args) -> int:
    from ..drafting.changes import DocumentNotFound, changes_between
    from ..drafting.export import change_blocks
    from ..present.plain import changes_text

    try:
        result = changes_between(_searcher(args), args.first, args.second)
    except DocumentNotFound as e:
        raise UserError(str(e)) from e
    return _emit(args, result, lambda: changes_text(result), change_blocks)
