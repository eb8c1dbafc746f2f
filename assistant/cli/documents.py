"""The commands about the documents themselves: `documents` (metadata, standing, relations, series)
and `changes` (what changed between two plans)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from .output import UserError, _emit, _print_json, _searcher


def cmd_documents(args) -> int:
    from ..interfaces.records import documents_records
    from ..present.plain import documents_text
    from ..search.standing import STATUSES

    wanted = set(args.status or [])
    unknown = wanted - set(STATUSES)
    if unknown:
        raise UserError(f"未知状态：{'、'.join(sorted(unknown))}（可选：{'、'.join(STATUSES)}）")
    engine = _searcher(args)
    records = documents_records(engine, wanted, _internal_ids(args, engine))
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


def _library_homes(args) -> list[Path]:
    """Where each library the command reads keeps its own files (office/journal.library_home)."""
    from ..office.journal import library_home

    if getattr(args, "libraries", None):
        from ..office.libraries import LibrariesFile

        registry = LibrariesFile(Path(args.libraries))
        chosen = [registry.get(n) for n in args.library] if args.library else registry.libraries()
        return [library_home(registry.location(lib)) for lib in chosen]
    return [library_home(str(args.index))]


def _visibility_file(home: Path):
    from ..office.journal import beside
    from ..office.visibility import VisibilityFile

    return VisibilityFile(beside(home, "visibility.json"))


def _internal_ids(args, engine) -> frozenset[str]:
    internal = frozenset().union(*(_visibility_file(h).internal() for h in _library_homes(args)))
    return frozenset(d.doc_id for d in engine.documents() if d.source in internal)


def cmd_visibility(args) -> int:
    """`policyqa visibility [内部|公开 DOC …]`: list the internal documents, or mark some."""
    from ..office.journal import Audit, beside
    from ..office.visibility import INTERNAL, LABELS, visibility_of

    homes = _library_homes(args)
    if len(homes) != 1:
        raise UserError("请用 --library 指定一个库（可见范围按库记录）")
    marks = _visibility_file(homes[0])
    engine = _searcher(args)
    if not args.setting:
        internal = marks.internal()
        rows = [d for d in engine.documents() if d.source in internal]
        for d in rows:
            if args.json:
                _print_json({"doc_id": d.doc_id, "source": d.source, "title": d.title, "visibility": INTERNAL})
            else:
                print(f"{d.title}（{d.source}）\t{LABELS[INTERNAL]}")
        if not rows and not args.json:
            print("没有标为“内部”的文档：所有读者都能看到全部文档。", file=sys.stderr)
        return 0
    visibility = visibility_of(args.setting)
    if not args.docs:
        raise UserError("请给出要设定的文档（文档 ID、文件名或标题片段），例如：policyqa visibility 内部 2023年工作要点")
    docs = [_one_document(engine, wanted) for wanted in args.docs]
    if marks.set([d.source for d in docs], visibility):
        audit = Audit(beside(homes[0], "audit.jsonl"))
        for d in docs:
            audit.record("visibility", user=getpass.getuser(), document=d.title, doc_id=d.doc_id, source=d.source,
                         visibility=visibility, via="cli")
    for d in docs:
        print(f"{LABELS[visibility]}：{d.title}（{d.source}）", file=sys.stderr)
    return 0


def _one_document(engine, wanted: str):
    """A document named by its id, its file name or a piece of its title (exactly one)."""
    docs = engine.documents()
    exact = [d for d in docs if wanted in (d.doc_id, d.source)]
    found = exact or [d for d in docs if wanted in d.title or wanted in d.source]
    if not found:
        raise UserError(f"索引中没有这个文档：{wanted}")
    if len(found) > 1:
        names = "、".join(f"{d.title}（{d.source}）" for d in found[:5])
        raise UserError(f"“{wanted}”对应多个文档：{names}{' …' if len(found) > 5 else ''}；请给出文件名或文档 ID")
    return found[0]
