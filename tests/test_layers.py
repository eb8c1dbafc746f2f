"""Layers point one way: ui.py → webui/ → assistant/ → indexer/. Every import in the code,
at the top of a module or inside a function, relative or absolute, is checked."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what each layer may not import
FORBIDDEN = {
    "indexer": {"assistant", "webui", "ui"},
    "assistant": {"webui", "ui"},
    "webui": {"ui"},
}


def imported_packages(path: Path, root: Path = ROOT) -> set[str]:
    """Top-level package names a module imports (relative imports resolved)."""
    package = path.relative_to(root).parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.add(base[0] if base else (node.module or "").split(".")[0])
            elif node.module:
                names.add(node.module.split(".")[0])
    return names


def test_no_layer_imports_a_layer_above_it():
    reaching_up = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for name in sorted(imported_packages(path) & forbidden):
                reaching_up.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not reaching_up, "\n".join(reaching_up)


def test_the_check_sees_an_upward_import(tmp_path):
    probe = tmp_path / "indexer" / "formats" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("import json\n\ndef f():\n    from assistant.cli import main\n    from ...webui import layout\n"
                     "    from ..store import open_store\n", encoding="utf-8")
    assert imported_packages(probe, tmp_path) == {"json", "assistant", "webui", "indexer"}


def test_modules_stay_small_or_say_why():
    """A module past about 400 lines says at its top why it is one module."""
    too_long = []
    for layer in ("indexer", "assistant", "webui"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > 440 and "One module because" not in text[:1500]:
                too_long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert not too_long, "\n".join(too_long)
