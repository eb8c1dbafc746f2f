"""`policyqa`: the core's commands (assistant/cli/commands.py) plus `serve`, the page. The core does
not know the page; the page's entry point adds it."""

from __future__ import annotations

import sys

from assistant.cli import commands as core


def cmd_serve(args) -> int:
    from .options import Options
    from .server import serve

    serve(Options.from_args(args))
    return 0


def build_parser():
    from .options import add_arguments

    parser = core.build_parser()
    commands = next(a for a in parser._subparsers._group_actions if a.dest == "command")
    sp = commands.add_parser("serve", help="启动网页界面（与 python ui.py 相同）")
    core.common(sp)
    add_arguments(sp, index=False)
    sp.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    return core.main(argv, parser=build_parser())


if __name__ == "__main__":
    sys.exit(main())
