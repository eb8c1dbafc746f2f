"""The README and docs/ cannot drift from the code: every `policyqa` command shown in a console
block runs (commands that need a server or a Milvus are parsed), every Python example runs against
a live page, every option and POLICYQA_ variable the code knows is documented, and the help text
in docs/configuration.md is the code's own."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from indexer.embed import FakeEmbedder

from .conftest import CORPUS, SHARED

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
NOT_RUN = ("milvus://", " serve")  # parsed only: they need a Milvus, or they serve until stopped


def all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in DOCS)


def blocks(kind: str) -> list[tuple[Path, str]]:
    return [(p, m.group(2)) for p in DOCS for m in FENCE.finditer(p.read_text(encoding="utf-8"))
            if m.group(1) == kind]


def console_commands() -> list[tuple[str, list[str]]]:
    """(`policyqa …` as written, the output lines shown under it) for every console block."""
    out = []
    for _, text in blocks("console"):
        for line in text.splitlines():
            if line.startswith("$ "):
                out.append((line[2:].strip(), []))
            elif out and line.strip():
                out[-1][1].append(line.strip())
    return [(c, shown) for c, shown in out if c.startswith("policyqa ")]


def other_commands() -> list[str]:
    """`policyqa …` lines of bash blocks (operations, with server paths): parsed, not run."""
    found = []
    for _, text in blocks("bash"):
        for line in text.splitlines():
            m = re.search(r"(?:^|\s|bin/)(policyqa\s+[a-z].*)$", line.split("  #")[0].strip())
            if m and not line.lstrip().startswith("#"):
                found.append(m.group(1))
    return found


def parser():
    from webui.cli import build_parser

    return build_parser()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A folder like the repository's: corpus/ (the seeds), ../shared, the files examples name."""
    work = tmp_path / "work"
    shutil.copytree(CORPUS, work / "corpus")
    (tmp_path / "shared").symlink_to(SHARED)
    (work / "草稿.txt").write_text((CORPUS / "2020-宝山区教育工委工作要点.txt").read_text(encoding="utf-8"),
                                  encoding="utf-8")
    (work / "问题.jsonl").write_text('{"question": "发展党员有哪些要求"}\n{"question": "近视防控"}\n', encoding="utf-8")
    (work / "新文件.txt").write_text("丙区教育局2025年工作要点\n一、总则\n1.做好课后服务。每所学校开设课后服务。\n",
                                   encoding="utf-8")
    monkeypatch.chdir(work)
    for name in [n for n in __import__("os").environ if n.startswith("POLICYQA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("POLICYQA_MODEL", "fake")
    return work


def test_the_docs_show_commands_at_all():
    commands = [c for c, _ in console_commands()]
    assert any(c.startswith("policyqa index ") for c in commands)
    assert {c.split()[1] for c in commands} >= {"index", "search", "ask", "precedents", "compare", "draft-check",
                                                 "eval", "user", "serve"}


def test_every_console_command_runs(workspace, capsys):
    from webui.cli import main

    commands = console_commands()
    for command, shown in commands:
        argv = shlex.split(command)[1:]
        if any(marker in f" {command}" for marker in NOT_RUN):
            parser().parse_args(argv)
            continue
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, f"{command}\n{err}"
        for line in shown:  # what the docs show under a command is what it prints
            assert line in out, f"{command}: the docs show “{line}”, the command printed:\n{out}"
    assert (workspace / "先例.docx").stat().st_size > 0 and (workspace / "检查.md").read_text(encoding="utf-8")


def test_every_command_in_the_operations_docs_parses():
    commands = other_commands()
    assert len(commands) >= 5
    for command in commands:
        parser().parse_args(shlex.split(command)[1:])


def test_python_examples_run_against_a_live_page(workspace):
    from assistant.office.service import Service
    from indexer.build import build_index

    from .test_ui_client import launch

    build_index(workspace / "corpus", workspace / "index", embedder=FakeEmbedder())
    service = Service(workspace / "index", corpus_dir=workspace / "corpus", embedder=FakeEmbedder())
    app, url = launch(service)
    try:
        examples = [(p, code) for p, code in blocks("python") if "gradio_client" in code]
        assert len(examples) >= 2
        for path, code in examples:
            scope: dict = {}
            exec(compile(code.replace("http://127.0.0.1:7860/", url), str(path), "exec"), scope)  # noqa: S102
            assert "发展党员" in scope["passages_html"] and scope["table"]["data"]
            if "status_html" in scope:
                assert "新文件" in scope["status_html"]
    finally:
        app.close()


def test_every_option_of_every_command_is_documented():
    text = all_docs()
    commands = next(a for a in parser()._subparsers._group_actions if a.dest == "command")
    missing = []
    for name, sub in commands.choices.items():
        if f"policyqa {name}" not in text:
            missing.append(f"the command {name}")
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help") and not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text):
                    missing.append(f"{name} {option}")
    assert not missing, "not in README.md or docs/: " + ", ".join(missing)


def test_every_environment_variable_is_documented():
    code = "\n".join(p.read_text(encoding="utf-8") for layer in ("indexer", "assistant", "webui")
                     for p in (ROOT / layer).rglob("*.py"))
    code += (ROOT / "ui.py").read_text(encoding="utf-8")
    used = set(re.findall(r"POLICYQA_[A-Z_]+[A-Z]", code))
    text = all_docs()
    assert used and not sorted(v for v in used if v not in text)


def test_help_text_in_the_docs_is_current():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import update_docs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    text = update_docs.DOC.read_text(encoding="utf-8")
    assert update_docs.BLOCK.search(text)
    assert update_docs.updated(text) == text, "run: python scripts/update_docs.py"


def test_readme_stays_short_and_links_what_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count("\n") <= 210
    for link in re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]+)\)", all_docs() + readme):
        assert (ROOT / link).exists(), link
    for link in re.findall(r"\]\(([\w.-]+\.md)\)", "\n".join(p.read_text(encoding="utf-8") for p in DOCS[1:])):
        assert (ROOT / "docs" / link).exists() or (ROOT / link).exists(), link
