"""Layers point one way: ui.py → webui/ → assistant/ → indexer/, and inside assistant/ its packages
point the ways their `__init__` docstrings allow. Every import in the code, at the top of a module
or inside a function, relative or absolute, is checked."""

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


def allowed_packages(root: Path = ROOT) -> dict[str, set[str]]:
    """assistant's packages, each with the packages it may import: the `May import:` line of its
    `__init__` docstring, written there once."""
    allowed = {}
    for init in sorted((root / "assistant").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        line = next((x for x in doc.splitlines() if x.startswith("May import:")), None)
        assert line, f"{init.relative_to(root)} does not say what it may import"
        allowed[init.parent.name] = {w.strip(" .") for w in line.removeprefix("May import:").split(",")} - {"indexer"}
    return allowed


def assistant_packages_imported(path: Path, root: Path = ROOT) -> set[str]:
    """The packages of assistant/ a module imports (relative imports resolved)."""
    package = path.relative_to(root).parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            dotted = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            dotted = [base + (node.module or "").split(".")] if node.module else [base + [a.name] for a in node.names]
        else:
            continue
        names.update(d[1] for d in dotted if len(d) > 1 and d[0] == "assistant" and d[1])
    return names


def test_assistant_packages_import_only_what_they_say():
    allowed = allowed_packages()
    assert set(allowed) >= {"search", "answers", "drafting", "present", "office", "cli", "backends"}
    assert [p.name for p in (ROOT / "assistant").glob("*.py")] == ["__init__.py"], "modules belong in a package"
    wrong = []
    for package, may in allowed.items():
        for path in sorted((ROOT / "assistant" / package).rglob("*.py")):
            for name in sorted(assistant_packages_imported(path) - may - {package}):
                wrong.append(f"{path.relative_to(ROOT)} imports assistant.{name} (its package may import: "
                             f"{', '.join(sorted(may)) or 'indexer only'})")
    assert not wrong, "\n".join(wrong)


def test_the_package_check_sees_a_backward_import(tmp_path):
    search = tmp_path / "assistant" / "search"
    search.mkdir(parents=True)
    (search / "__init__.py").write_text('"""Finding passages.\nMay import: indexer."""\n', encoding="utf-8")
    (search / "probe.py").write_text("def f():\n    from ..answers.answer import Answerer\n"
                                     "    from assistant.office import service\n    from .query import x\n",
                                     encoding="utf-8")
    assert allowed_packages(tmp_path) == {"search": set()}
    assert assistant_packages_imported(search / "probe.py", tmp_path) == {"answers", "office", "search"}


def module_imports(package: Path, root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of a package (dotted, from `root`) with the modules of that package it imports,
    wherever the import stands."""
    modules = {".".join(p.relative_to(root).with_suffix("").parts): p for p in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        here = name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                targets = [base + node.module.split(".")] if node.module else [base + [a.name] for a in node.names]
                targets += [t + [a.name] for t in targets[:1] for a in node.names] if node.module else []
            elif isinstance(node, ast.Import):
                targets = [a.name.split(".") for a in node.names]
            else:
                continue
            found.update(".".join(t) for t in targets if ".".join(t) in modules and ".".join(t) != name)
        graph[name] = found
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of a graph, each once, as the path that closes it."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_modules_import_each_other_in_a_circle():
    for layer in ("indexer", "assistant", "webui"):
        assert not circles(module_imports(ROOT / layer)), layer


def test_the_circle_check_sees_a_circle(tmp_path):
    pkg = tmp_path / "indexer"
    pkg.mkdir()
    (pkg / "clean.py").write_text("from .runon import split\n", encoding="utf-8")
    (pkg / "runon.py").write_text("def f():\n    from .structure import match\n", encoding="utf-8")
    (pkg / "structure.py").write_text("from . import clean\n", encoding="utf-8")
    assert circles(module_imports(pkg, tmp_path)) == [["indexer.clean", "indexer.runon", "indexer.structure",
                                                       "indexer.clean"]]


def test_the_check_sees_an_upward_import(tmp_path):
    probe = tmp_path / "indexer" / "formats" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("import json\n\ndef f():\n    from assistant.cli.commands import main\n    from ...webui import layout\n"
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


def unresolved_imports(paths) -> list[str]:
    """Absolute first-party imports (anywhere in a file) that name no module or attribute: a module
    moved without every importer following, which collection of one test file would not reveal."""
    import importlib

    def resolves(module: str, name: str | None = None) -> bool:
        try:
            found = importlib.import_module(module)
        except ImportError:
            return False
        if name is None or hasattr(found, name):
            return True
        return resolves(f"{module}.{name}")

    missing = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] in FIRST_PARTY:
                    missing += [f"{path.name}:{node.lineno} {node.module}.{a.name}"
                                for a in node.names if not resolves(node.module, a.name)]
            elif isinstance(node, ast.Import):
                missing += [f"{path.name}:{node.lineno} {a.name}" for a in node.names
                            if a.name.split(".")[0] in FIRST_PARTY and not resolves(a.name)]
    return missing


FIRST_PARTY = {"indexer", "assistant", "webui"}


def test_every_first_party_import_names_something_that_exists():
    paths = [p for folder in ("indexer", "assistant", "webui", "tests", "bench", "scripts")
             for p in sorted((ROOT / folder).rglob("*.py"))] + [ROOT / "ui.py"]
    missing = unresolved_imports(paths)
    assert not missing, "\n".join(missing)


def test_the_import_check_sees_a_moved_module(tmp_path):
    stale = tmp_path / "stale.py"
    stale.write_text("from assistant import engine\nimport assistant.answer\n", encoding="utf-8")
    assert len(unresolved_imports([stale])) == 2
