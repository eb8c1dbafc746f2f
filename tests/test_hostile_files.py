"""Small files that expand to gigabytes (issue 28): each is refused by a check of what it
declares, before it is expanded, by the command line and through the page; and the process
that reads files is capped in memory and time, so that what no check foresaw still cannot
take the server down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.office.service import Service
from indexer import limits
from indexer.build import build_index
from indexer.embed import FakeEmbedder
from indexer.errors import UnreadableFile
from indexer.reader_process import ReaderProcess

from . import hostile
from .test_ui_client import launch

ROOT = Path(__file__).resolve().parents[1]
PEAK_MB = 1536  # the bound on a hostile file's peak memory

# file name -> (writer, what its refusal must say)
HOSTILE = {
    "页面反复引用.ofd": (hostile.ofd_shared_page, "超过上限 5,000 页"),
    "四千页反复引用.ofd": (lambda p: hostile.ofd_shared_page(p, pages=4_000), "页面解压后共超过"),
    "附件反复引用.ofd": (hostile.ofd_shared_attachment, "附件解压后共超过"),
    "巨幅页面.pdf": (hostile.pdf_huge_page, "PDF 第 1 页过大"),
    "第二帧巨大.tif": (lambda p: hostile.tiff_large_second_frame(p, 12_000, 12_000), "图片第 2 页过大"),
    "高压缩比.docx": (hostile.docx_packed, "word/document.xml 解压后过大"),
    "空白扫描.pdf": (hostile.pdf_blank_scans, "都是空白页"),
    "程序.pdf": (hostile.not_a_pdf, "不是 PDF 文件"),
}


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, (write, _) in HOSTILE.items():
        write(folder / name)
    return folder


def test_the_command_line_refuses_each_hostile_file_by_a_check(hostile_dir, tmp_path, mini_corpus):
    for name in HOSTILE:
        (mini_corpus / name).write_bytes((hostile_dir / name).read_bytes())
    env = {**os.environ, "POLICYQA_MODEL": "fake", "POLICYQA_CACHE": str(tmp_path / "cache")}
    command = ["-m", "webui.cli", "index", str(mini_corpus), "--index", str(tmp_path / "index"), "--json"]
    done = subprocess.run([sys.executable, "-c", MEASURED, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    *output, peak_kb = done.stdout.strip().splitlines()
    report = json.loads("\n".join(output))
    reasons = {s["source"]: s["reason"] for s in report["skipped"]}
    for name, (_, says) in HOSTILE.items():
        assert says in reasons[name], (name, reasons.get(name))
    assert report["documents"] == 2  # the rest of the corpus is indexed
    assert int(peak_kb) / 1024 < PEAK_MB  # the command and its reading process, the larger of the two


# Runs a command and prints the largest peak memory (KB) among it and its descendants.
MEASURED = """
import resource, subprocess, sys
code = subprocess.call([sys.executable, *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def test_hostile_uploads_are_refused_while_the_server_answers(hostile_dir, mini_corpus, tmp_path):
    from gradio_client import Client, handle_file

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder()))
    answers: list[str] = []
    stop = threading.Event()

    def reader() -> None:  # another user, asking all along
        client = Client(url, verbose=False)
        while not stop.is_set():
            answers.append(client.predict("发展党员", 3, [], [], [], api_name="/search"))

    other = threading.Thread(target=reader)
    other.start()
    try:
        admin = Client(url, verbose=False)
        for name, (_, says) in HOSTILE.items():
            status, *_ = admin.predict([handle_file(str(hostile_dir / name))], "keep", api_name="/upload")
            assert "未加入" in status and says in status, (name, status)
    finally:
        stop.set()
        other.join()
        app.close()
    assert sorted(p.name for p in mini_corpus.iterdir() if not p.name.startswith(".")) == sorted(
        ["2023-甲区教育工作要点.txt", "2024-乙县教育工作要点.txt"])
    assert answers and all("严格发展党员" in a for a in answers)


def test_a_reader_that_passes_its_memory_is_stopped_and_the_next_file_is_read(hostile_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(limits, "MAX_PIXELS", 10**10)  # as if the page check were missing: the cap still holds
    good = tmp_path / "正常.ofd"
    from . import scans

    scans.write_ofd(good, "某局通知", [["一、总则", "1.做好课后服务。"]])
    with ReaderProcess(memory_mb=400) as reader:
        with pytest.raises(UnreadableFile, match="内存上限（400 MB）"):
            reader.read(hostile_dir / "巨幅页面.pdf")
        assert "做好课后服务" in reader.read(good)


def test_a_reader_that_passes_its_time_is_stopped(tmp_path, monkeypatch):
    from . import scans

    if not scans.font_available():
        pytest.skip("needs a CJK font to draw a scan")
    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    scan = scans.save_pdf(scans.scan_pages("某局关于做好课后服务的通知\n一、总则\n各学校要做好课后服务工作。"),
                          tmp_path / "扫描.pdf")
    with ReaderProcess(seconds=0.5) as reader, pytest.raises(UnreadableFile, match="时间上限"):
        reader.read(scan)
