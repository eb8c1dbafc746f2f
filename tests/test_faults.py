"""Faults injected on purpose: a full disk (a real one, on a small tmpfs, where the machine
allows mounting one; simulated otherwise), a read-only or forbidden folder, a damaged
index under the page. Each ends in a clear message and the previous index intact."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from assistant.office.service import Service
from assistant.search.index import load_index
from assistant.search.retrieve import Searcher
from indexer import build as build_module
from indexer import store
from indexer.build import BuildError, build_index
from indexer.embed import FakeEmbedder

from .test_ui_client import launch

NEW_DOC = "丁区教育局2025年工作要点\n一、总则\n1.推进集团化办学。新建集团8个。\n" + "2.加强教师培训。" * 4000


def searchable(index_dir: Path) -> list[str]:
    index = load_index(index_dir)
    try:
        return [r.title for r in Searcher(index, FakeEmbedder()).search("发展党员", k=3)]
    finally:
        index.close()


@pytest.fixture
def small_disk():
    """A 16 MB tmpfs, mounted for the test; skipped where mounting is not allowed."""
    where = Path(tempfile.mkdtemp(prefix="policyqa-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True)
    if done.returncode:
        where.rmdir()
        if os.environ.get("POLICYQA_REQUIRE_MOUNT"):
            pytest.fail(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace')}")
        pytest.skip("mounting a small tmpfs needs root; the simulated full-disk test covers the code path")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        where.rmdir()


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk until only `leave` bytes are free."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler = disk / "filler.bin"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_full_disk_for_real_keeps_the_previous_index(mini_corpus, small_disk):
    index_dir = small_disk / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    before = (index_dir / "config.json").read_bytes()
    (mini_corpus / "2025-丁区教育工作要点.txt").write_text(NEW_DOC, encoding="utf-8")
    filler = fill(small_disk, leave=64 * 1024)
    with pytest.raises(BuildError, match="原索引保持不变") as refused:
        build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert not re.search(r"[A-Za-z]{4,}", str(refused.value).split("：")[0].replace(str(small_disk), ""))
    assert (index_dir / "config.json").read_bytes() == before
    assert len(searchable(index_dir)) == 3
    assert not list(small_disk.glob(".index.tmp-*"))  # the half-written build is gone
    filler.unlink()
    report = build_index(mini_corpus, index_dir, embedder=FakeEmbedder())  # space again: it works
    assert report.added == ["2025-丁区教育工作要点.txt"]


def test_read_only_disk_for_real(mini_corpus, small_disk, fake_model, capsys):
    from assistant.cli.commands import main

    index_dir = small_disk / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    (mini_corpus / "2025-丁区教育工作要点.txt").write_text(NEW_DOC[:200], encoding="utf-8")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        assert main(["index", str(mini_corpus), "--index", str(index_dir)]) == 1
        err = capsys.readouterr().err
        assert "只读文件系统" in err and "原索引保持不变" in err and "Traceback" not in err
        assert len(searchable(index_dir)) == 3
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)


@pytest.mark.parametrize("where", ["vectors", "sqlite", "faiss", "staging", "lock"])
def test_simulated_write_failures_keep_the_previous_index(mini_corpus, tmp_path, monkeypatch, where):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    before = (index_dir / "config.json").read_bytes()
    (mini_corpus / "2025-丁区教育工作要点.txt").write_text(NEW_DOC[:300], encoding="utf-8")

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    def forbidden(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    if where == "vectors":
        monkeypatch.setattr(build_module.os, "posix_fallocate", no_space)
    elif where == "sqlite":
        import sqlite3

        def full(self, db):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(build_module._Builder, "_count", full)
    elif where == "faiss":
        import faiss

        def fwrite(*a, **k):
            raise RuntimeError("Error in faiss::FileIOWriter::operator() : fwrite failed: No space left on device")

        monkeypatch.setattr(faiss, "write_index", fwrite)
    elif where == "staging":
        monkeypatch.setattr(store.tempfile, "mkdtemp", forbidden)
    else:
        monkeypatch.setattr(store.fcntl, "flock", forbidden)
    with pytest.raises(BuildError, match="原索引保持不变") as refused:
        build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert not re.search(r"[A-Za-z]{4,}", str(refused.value).split("：")[0].replace(str(tmp_path), ""))  # no English
    assert (index_dir / "config.json").read_bytes() == before
    assert len(searchable(index_dir)) == 3
    assert not list(tmp_path.glob(".index.tmp-*"))


@pytest.mark.parametrize("damage", ["truncated vectors", "missing faiss", "another model", "unknown model",
                                    "not an index"])
def test_damaged_index_page_starts_and_says_what_is_wrong(mini_corpus, tmp_path, damage):
    import httpx
    from gradio_client import Client

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    model = None
    if damage == "truncated vectors":
        (index_dir / store.VECTORS).write_bytes((index_dir / store.VECTORS).read_bytes()[:100])
        expected = "截断"
    elif damage == "missing faiss":
        (index_dir / store.DENSE).unlink()
        expected = "--rebuild"
    elif damage == "another model":  # the page is started with another model than the index was built with
        model = "m3e-small"
        expected = "--rebuild"
    elif damage == "unknown model":  # the manifest names a model this machine does not have
        manifest = json.loads((index_dir / "config.json").read_text(encoding="utf-8"))
        manifest["model"]["name"] = manifest["settings"]["model"] = "no-such-model"
        (index_dir / "config.json").write_text(json.dumps(manifest), encoding="utf-8")
        expected = "no-such-model"
    else:
        (index_dir / "config.json").write_text("<html>not json</html>", encoding="utf-8")
        expected = "--rebuild"
    app, url = launch(Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder(), model=model))
    try:
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200
        config = httpx.get(f"{url}config", timeout=30).text
        assert "索引不可用" in config and expected in config
        answer, passages = Client(url, verbose=False).predict("发展党员", [], [], [], api_name="/ask")
        assert expected in answer and "Traceback" not in answer
    finally:
        app.close()


def test_failed_rebuild_while_serving_keeps_answering(mini_corpus, tmp_path, monkeypatch):
    """A rebuild that fails (full disk) leaves the page answering from the index it had."""
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder())
    before = [r.section_id for r in service.search("发展党员")]

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build_module.os, "posix_fallocate", no_space)
    src = tmp_path / "new.txt"
    src.write_text(NEW_DOC[:300], encoding="utf-8")
    with pytest.raises(BuildError):
        service.upload([(src, "2025-丁区教育工作要点.txt")])
    assert [r.section_id for r in service.search("发展党员")] == before
