"""A corpus as staff's disks hold it: bad files are skipped with a reason, the rest is
indexed; an interrupted build leaves the previous index intact and searchable."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from assistant.cli.commands import main
from assistant.search.index import load_index
from assistant.search.retrieve import Searcher
from indexer import store
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .conftest import ROOT, SHARED, seed_text
from .formats import seed_outline, write_docx, write_pdf


@pytest.fixture
def messy_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _, items = seed_outline(seed_text("wujin2024"))
    (corpus / "带 空格 的 文件名.txt").write_text(seed_text("xqu"), encoding="utf-8")
    (corpus / "宝山区要点🎓.txt").write_text(seed_text("baoshan"), encoding="gb18030")
    write_docx(corpus / "武进要点.docx", items)
    write_pdf(corpus / "武进要点.pdf", items)
    (corpus / "空文件.txt").write_bytes(b"")
    (corpus / "二进制.txt").write_bytes(bytes(range(256)) * 20)
    good_docx = (corpus / "武进要点.docx").read_bytes()
    (corpus / "截断.docx").write_bytes(good_docx[: len(good_docx) // 2])
    good_pdf = (corpus / "武进要点.pdf").read_bytes()
    (corpus / "截断.pdf").write_bytes(good_pdf[: len(good_pdf) // 3])
    _encrypted_pdf(corpus / "武进要点.pdf", corpus / "加密.pdf")
    _scanned_pdf(corpus / "扫描件.pdf")
    with open(corpus / "超大.txt", "wb") as f:  # sparse: over the limit without writing 60 MB
        f.truncate(60 * 1024 * 1024)
    sub = corpus / "子目录"
    sub.mkdir()
    (sub / "环").symlink_to(corpus, target_is_directory=True)
    return corpus


def _encrypted_pdf(src, dest):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(str(src)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    with open(dest, "wb") as f:
        writer.write(f)


def _scanned_pdf(path):
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    import numpy as np

    # Noise from a fixed seed: Image.effect_noise draws anew each run, and some draws give the text
    # detector so many boxes that recognising them outlasts the reader's idle limit on a slow run.
    noise = np.random.default_rng(7).normal(128, 50, (120, 120)).clip(0, 255).astype("uint8")
    c.drawImage(ImageReader(Image.fromarray(noise).convert("RGB")), 50, 400, 300, 300)
    c.showPage()
    c.save()


def test_bad_files_are_skipped_with_reasons(messy_corpus, tmp_path):
    report = build_index(messy_corpus, tmp_path / "index", embedder=FakeEmbedder())
    reasons = {s.source: s.reason for s in report.skipped}
    assert reasons["空文件.txt"] == "文件为空"
    assert "二进制" in reasons["二进制.txt"] or "无法识别" in reasons["二进制.txt"]
    assert "损坏" in reasons["截断.docx"]
    assert "截断.pdf" in reasons
    assert "加密" in reasons["加密.pdf"]
    assert "没有识别出文字" in reasons["扫描件.pdf"]  # a scan of noise: OCR runs, finds nothing
    assert "过大" in reasons["超大.txt"]
    assert any("循环" in r for s, r in reasons.items() if s.startswith("子目录"))
    indexed = {d.source for d in load_index(tmp_path / "index").documents}
    assert indexed == {"带 空格 的 文件名.txt", "宝山区要点🎓.txt", "武进要点.docx", "武进要点.pdf"}


def test_cli_exit_status_partial_and_nothing(messy_corpus, tmp_path, fake_model, capsys):
    assert main(["index", str(messy_corpus), "--index", str(tmp_path / "i1")]) == 0
    out = capsys.readouterr().out
    assert "跳过 8 个文件" in out and "扫描件.pdf：" in out and "没有识别出文字" in out
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    shutil.copy(messy_corpus / "空文件.txt", only_bad)
    shutil.copy(messy_corpus / "加密.pdf", only_bad)
    assert main(["index", str(only_bad), "--index", str(tmp_path / "i2")]) == 1
    err = capsys.readouterr().err
    assert "没有可索引的文档" in err and "加密" in err


def test_incremental_update_across_formats(messy_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(messy_corpus, index_dir, embedder=FakeEmbedder())
    (messy_corpus / "武进要点.pdf").unlink()
    (messy_corpus / "带 空格 的 文件名.txt").write_text(seed_text("xqu") + "\n7.新增一条。内容。\n", encoding="utf-8")
    report = build_index(messy_corpus, index_dir, embedder=FakeEmbedder())
    assert report.removed == ["武进要点.pdf"] and report.changed == ["带 空格 的 文件名.txt"]
    assert report.unchanged == 2 and report.embedded <= 2
    again = build_index(messy_corpus, index_dir, embedder=FakeEmbedder())
    assert again.up_to_date and len(again.skipped) == 8  # skipped files are reported again, not retried


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.model
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_build_leaves_the_previous_index(real_index, tmp_path, sig):
    reports = sorted((SHARED / "corpora" / "gov_work_reports").glob("19*.txt"))[:6]
    if not reports:
        pytest.skip("../shared/corpora not available")
    index_dir = tmp_path / "index"
    shutil.copytree(real_index, index_dir)
    before = (index_dir / "config.json").read_bytes()
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    for r in reports:  # enough new text that embedding takes a while
        shutil.copy(r, corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", str(corpus), "--index", str(index_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staged = lambda: any((p / store.VECTORS).exists() for p in tmp_path.glob(".index.tmp-*"))  # noqa: E731
    try:
        assert _wait_for(staged, 120), "the build never reached the embedding stage"
        time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (index_dir / "config.json").read_bytes() == before
    results = Searcher(load_index(index_dir)).search("发展党员有哪些要求", k=3)
    assert results and all(r.source.endswith("工作要点.txt") for r in results)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "已中断" in err.decode()
        assert not list(tmp_path.glob(".index.tmp-*"))  # cleaned up on the way out
    else:
        assert list(tmp_path.glob(".index.tmp-*"))  # a killed build cannot clean up…
        store.new_staging_dir(index_dir)  # …so the next build does
        assert len(list(tmp_path.glob(".index.tmp-*"))) == 1
