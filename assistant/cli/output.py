"""What every command shares: the error for bad input, opening the index named by the arguments,
and printing or exporting a result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import PolicyQAError

if TYPE_CHECKING:
    from ..search.engine import SearchEngine


class UserError(PolicyQAError):
    """Bad input from the user: printed as is, exit status 1."""


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _searcher(args) -> SearchEngine:
    from ..search.engine import open_engine
    from ..search.expand import THESAURUS, Thesaurus

    extra = getattr(args, "thesaurus", None)
    thesaurus = Thesaurus.load(THESAURUS, Path(extra)) if extra else None
    if getattr(args, "libraries", None) or getattr(args, "library", None):
        from ..office.libraries import LibrariesFile, open_libraries

        if not args.libraries:
            raise UserError("--library 需要库文件：--libraries FILE（或 $POLICYQA_LIBRARIES）")
        return open_libraries(LibrariesFile(Path(args.libraries)), args.library, model=args.model,
                              thesaurus=thesaurus)
    return open_engine(args.index, model=args.model, thesaurus=thesaurus)


def _export(blocks, path: str | None) -> None:
    if path:
        from ..drafting.export import write

        written = write(blocks, Path(path))
        print(f"已导出：{written}", file=sys.stderr)


def _emit(args, result, text, blocks) -> int:
    """Print a drafting result as JSON or text, then export it if asked."""
    if args.json:
        _print_json(result.to_json())
    else:
        print(text())
    _export(blocks(result), args.export)
    return 0
