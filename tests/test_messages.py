"""Every problem a user can cause or meet ends in one line of Chinese on stderr and exit
status 1: bad arguments, odd index paths, damaged indexes, full disks, closed pipes,
inputs over their limits. Never a traceback, never English advice."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.cli.commands import main
from assistant.search import inputs
from indexer import store
from indexer.build import build_index
from indexer.embed import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def index_dir(mini_corpus, tmp_path, fake_model):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    return index_dir


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_chinese_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("错误：") and "Traceback" not in err and "内部错误" not in err, err
    assert not any(w in err for w in ("usage:", "invalid", "unrecognized", "allow_pickle", "Error")), err
    return lines[0]


@pytest.mark.parametrize("argv, says", [
    (["search", "发展党员", "-k", "abc"], "参数 -k 的值应为整数"),
    (["search", "发展党员", "--bogus"], "无法识别的参数：--bogus"),
    (["bogus"], "未知命令：bogus"),
    (["search", "发展党员", "-k", "0"], "结果数 -k 应在 1 到"),
    (["search", "发展党员", "-k", "100000000"], "结果数 -k 应在 1 到"),
    (["compare", "a#1"], "缺少参数：second"),
])
def test_bad_arguments_get_one_chinese_line(index_dir, capsys, argv, says):
    code, out, err = run(capsys, *argv, "--index", index_dir) if argv[0] != "bogus" else run(capsys, *argv)
    assert code == 1 and not out
    assert says in one_chinese_line(err)


def test_help_is_in_chinese(capsys):
    with pytest.raises(SystemExit) as done:
        main(["search", "-h"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and out.startswith("用法：") and "选项" in out and "show this help" not in out


@pytest.mark.parametrize("where", ["/etc/passwd/x", "/proc/x", "/proc/self/status/x"])
def test_impossible_index_paths(mini_corpus, capsys, fake_model, where):
    code, _, err = run(capsys, "index", mini_corpus, "--index", where)
    assert code == 1 and "原索引保持不变" in one_chinese_line(err)
    code, _, err = run(capsys, "search", "发展党员", "--index", where)
    assert code == 1 and "找不到索引" in one_chinese_line(err)


def _damage_manifest(index_dir: Path, **changes) -> None:
    manifest = json.loads((index_dir / store.MANIFEST).read_text(encoding="utf-8"))
    manifest.update(changes)
    (index_dir / store.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("damage", ["format_version as text", "counts as text", "files as a list", "model as text",
                                    "sentence index", "sentence rows", "sqlite page"])
def test_damaged_indexes_name_the_rebuild_command(index_dir, capsys, damage):
    if damage == "format_version as text":
        _damage_manifest(index_dir, format_version="1")
    elif damage == "counts as text":
        _damage_manifest(index_dir, counts="many")
    elif damage == "files as a list":
        _damage_manifest(index_dir, files=[])
    elif damage == "model as text":
        _damage_manifest(index_dir, model="m3e")
    elif damage == "sentence index":
        if not (index_dir / store.USE_SENTENCE_INDEX).exists():
            pytest.skip("the second model is not installed")
        path = index_dir / store.USE_SENTENCE_INDEX
        path.write_bytes(bytes(random.Random(1).randrange(256) for _ in range(path.stat().st_size)))
    elif damage == "sentence rows":
        if not (index_dir / store.SENTENCE_CHUNK).exists():
            pytest.skip("the second model is not installed")
        import numpy as np

        path = index_dir / store.SENTENCE_CHUNK
        rows = np.load(path)
        garbage = np.random.default_rng(1).integers(-10**6, 10**6, size=rows.shape).astype(rows.dtype)
        path.write_bytes(path.read_bytes()[: path.stat().st_size - rows.nbytes] + garbage.tobytes())
    else:
        _corrupt_sqlite_page(index_dir / store.DB)
    code, out, err = run(capsys, "search", "发展党员", "--index", index_dir)
    line = one_chinese_line(err)
    assert code == 1 and "--rebuild" in line and "当前程序需要 1" not in line


def _corrupt_sqlite_page(path: Path) -> None:
    """Garbage over the pages of the chunks table, the file's size unchanged."""
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunks'").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start:start + page_size] = bytes([0xAB]) * page_size
    path.write_bytes(bytes(data))


def test_export_to_a_missing_folder_is_refused_not_created(index_dir, tmp_path, capsys):
    target = tmp_path / "nonexistent" / "dir" / "x.md"
    code, _, err = run(capsys, "precedents", "发展党员", "--index", index_dir, "--export", target)
    assert code == 1 and "导出文件夹不存在" in one_chinese_line(err.replace("注意：", ""))
    assert not (tmp_path / "nonexistent").exists()


def test_export_to_a_full_disk_leaves_no_partial_file(index_dir, tmp_path, capsys, monkeypatch):
    import errno
    import os

    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    for name in ("x.md", "x.docx"):
        code, _, err = run(capsys, "precedents", "发展党员", "--index", index_dir, "--export", tmp_path / name)
        assert code == 1 and "磁盘已满" in one_chinese_line(err)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".x", "x."))]


def test_a_closed_pipe_ends_quietly(index_dir, tmp_path):
    batch = tmp_path / "q.txt"
    batch.write_text("发展党员\n" * 300, encoding="utf-8")
    cmd = (f"{sys.executable} -m assistant.cli search --batch {batch} --index {index_dir} --model fake --json"
           " | head -c 10 > /dev/null")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr and "内部错误" not in done.stderr and "BrokenPipe" not in done.stderr


def test_a_huge_batch_line_is_searched_by_its_beginning_and_not_echoed(index_dir, tmp_path, capsys):
    batch = tmp_path / "q.jsonl"
    batch.write_text(json.dumps({"question": "发展党员" * 500_000}, ensure_ascii=False) + "\n", encoding="utf-8")
    started = time.monotonic()
    code, out, err = run(capsys, "search", "--batch", batch, "--index", index_dir, "--json")
    assert code == 0 and time.monotonic() - started < 30
    row = json.loads(out)
    assert len(row["query"]) == inputs.MAX_QUERY_CHARS and "只按前" in row["notice"] and len(out) < 100_000
    assert "第 1 行：查询超过" in err


def test_batch_files_over_their_limits_are_refused_before_any_search(index_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("assistant.cli.batch.MAX_BATCH_LINES", 3)
    batch = tmp_path / "q.txt"
    batch.write_text("发展党员\n" * 4, encoding="utf-8")
    code, out, err = run(capsys, "search", "--batch", batch, "--index", index_dir)
    assert code == 1 and not out and "超过 3 行" in one_chinese_line(err)
    monkeypatch.setattr("assistant.cli.batch.MAX_BATCH_BYTES", 10)
    code, out, err = run(capsys, "search", "--batch", batch, "--index", index_dir)
    assert code == 1 and "批量查询文件过大" in one_chinese_line(err)


def test_a_draft_over_its_limit_is_refused_before_any_search(index_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_DRAFT_CHARS", 1000)
    draft = tmp_path / "草稿.txt"
    draft.write_text("某局2025年工作要点\n一、总则\n" + "".join(f"{n}.做好第{n}项工作。内容内容。\n" for n in range(1, 200)),
                     encoding="utf-8")
    searched = []
    monkeypatch.setattr("assistant.search.retrieve.Searcher.search", lambda *a, **k: searched.append(a) or [])
    code, _, err = run(capsys, "draft-check", draft, "--index", index_dir)
    assert code == 1 and "草稿过长" in one_chinese_line(err) and not searched
    monkeypatch.setattr(inputs, "MAX_DRAFT_CHARS", 100_000)
    monkeypatch.setattr(inputs, "MAX_DRAFT_ITEMS", 50)
    code, _, err = run(capsys, "draft-check", draft, "--index", index_dir)
    assert code == 1 and "草稿条目过多" in one_chinese_line(err) and not searched


def test_a_long_topic_is_searched_by_its_beginning_with_a_notice(index_dir, capsys):
    code, out, err = run(capsys, "precedents", "党建品牌" * 2000, "--index", index_dir, "--json")
    assert code == 0 and f"只按前 {inputs.MAX_TOPIC_CHARS} 字" in err
    assert len(json.loads(out)["query"]) <= inputs.MAX_TOPIC_CHARS
