"""Keep the `--help` text in docs/configuration.md current (as cog would): every block between
`<!-- help: COMMAND -->` and `<!-- end help -->` is replaced by that command's help.

    python scripts/update_docs.py          # rewrite the file
    python scripts/update_docs.py --check  # exit 1 if it is out of date (tests/test_docs.py)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "configuration.md"
BLOCK = re.compile(r"(<!-- help: ([\w-]+) -->\n)(.*?)(<!-- end help -->)", re.S)


def help_text(command: str) -> str:
    os.environ["COLUMNS"] = "110"  # argparse wraps to the terminal: fixed, so the file is stable
    from webui.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    return commands.choices[command].format_help()


def updated(text: str) -> str:
    return BLOCK.sub(lambda m: f"{m.group(1)}```text\n{help_text(m.group(2)).rstrip()}\n```\n{m.group(4)}", text)


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in sys.argv:
        if new != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run python scripts/update_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
