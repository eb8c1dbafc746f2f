"""Builds everyone can follow and cancel (issue 33): the progress of a build started from the
page or the API, its cancellation leaving the previous index and the document folder as they
were, and progress lines for a build without a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.office.jobs import BuildJobs, job_lines, progress_lines
from assistant.office.library import KEEP_BOTH, list_removed
from assistant.office.service import Service
from indexer.build import build_index
from indexer.embed import FakeEmbedder
from indexer.report import BuildCancelled

from . import scans
from .conftest import ROOT

NOTICE = "丙区教育局关于课后服务的通知\n一、总体安排\n1.做好课后托管。实现义务教育学校课后服务全覆盖。\n"


def test_a_build_is_followed_stage_by_stage_and_kept_after_it_ends():
    jobs = BuildJobs(log=False)
    assert jobs.current() is None and job_lines(None) == ["目前没有正在进行的建索引任务。"]
    seen = []
    with jobs.running("上传 1 个文件", "zhang", progress=lambda *a: seen.append(a)) as step:
        step("解析", 0, 4)
        step("解析", 4, 4)
        step("向量化", 10, 40)
        now = jobs.current()
        assert now["running"] and now["user"] == "zhang" and now["stage"]["name"] == "向量化"
        lines = job_lines(now)
        assert lines[0].startswith("正在进行：上传 1 个文件（zhang") and "向量化 10/40（25%）" in lines[1]
        assert "解析 4/4" in lines[2]
    assert seen == [("解析", 0, 4), ("解析", 4, 4), ("向量化", 10, 40)]
    done = jobs.current()
    assert not done["running"] and done["outcome"] == "done" and job_lines(done)[0].startswith("已完成")
    assert not jobs.cancel("li")  # nothing running


def test_a_cancelled_build_stops_at_its_next_step():
    jobs = BuildJobs(log=False)
    with pytest.raises(BuildCancelled, match="li"), jobs.running("重新建立索引", "zhang") as step:
        step("解析", 1, 9)
        assert jobs.cancel("li")
        assert "li 已要求取消" in "".join(job_lines(jobs.current()))
        step("解析", 2, 9)
        pytest.fail("the build went on")
    record = jobs.current()
    assert record["outcome"] == "cancelled" and "原索引保持不变" in record["message"]


def _service(mini_corpus: Path, tmp_path: Path) -> Service:
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder())
    service.jobs.log = False
    return service


def _cancel_on_first_step(service: Service):
    return lambda stage, done, total: service.jobs.cancel("li")


def test_a_cancelled_upload_leaves_the_index_and_the_folder_as_they_were(mini_corpus, tmp_path):
    service = _service(mini_corpus, tmp_path)
    before = sorted(p.name for p in mini_corpus.iterdir() if not p.name.startswith("."))
    documents = len(service.engine.documents())
    upload = tmp_path / "new" / "2024-丙区课后服务通知.txt"
    upload.parent.mkdir()
    upload.write_text(NOTICE, encoding="utf-8")
    with pytest.raises(BuildCancelled):
        service.upload([(upload, upload.name)], progress=_cancel_on_first_step(service), user="zhang")
    # the upload is in .removed/, recoverable
    assert sorted(p.name for p in mini_corpus.iterdir() if not p.name.startswith(".")) == before
    assert [e.source for e in list_removed(mini_corpus)] == [upload.name]
    assert len(service.engine.documents()) == documents
    assert service.jobs.current()["outcome"] == "cancelled"


def test_a_cancelled_removal_puts_the_file_back(mini_corpus, tmp_path):
    service = _service(mini_corpus, tmp_path)
    doc = service.engine.documents()[0]
    with pytest.raises(BuildCancelled):
        service.remove(doc.doc_id, progress=_cancel_on_first_step(service), user="zhang")
    assert (mini_corpus / doc.source).is_file() and service.engine.document(doc.doc_id) is not None
    removed, report = service.remove(doc.doc_id, user="zhang")  # not cancelled: goes through
    assert service.engine.document(doc.doc_id) is None and service.jobs.current()["outcome"] == "done"


def test_progress_lines_begin_and_end_each_stage_and_repeat_a_stage_run_again():
    out = io.StringIO()
    update = progress_lines(3600, out=out, prefix="重建：")
    for stage, done, total in [("解析", 0, 3), ("解析", 1, 3), ("解析", 3, 3), ("解析", 3, 3),
                               ("文字识别", 0, 2), ("文字识别", 2, 2), ("文字识别", 0, 5), ("文字识别", 5, 5)]:
        update(stage, done, total)
    lines = out.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "重建：解析 0/3（0%）", "重建：解析 3/3（100%）", "重建：文字识别 0/2（0%）", "重建：文字识别 2/2（100%）",
        "重建：文字识别 0/5（0%）", "重建：文字识别 5/5（100%）"]


def test_an_index_built_without_a_terminal_logs_its_progress(mini_corpus, tmp_path, fake_model):
    out = subprocess.run([sys.executable, "-m", "webui.cli", "index", str(mini_corpus), "--index",
                          str(tmp_path / "index")], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "POLICYQA_PROGRESS_SECONDS": "1"})
    assert out.returncode == 0, out.stderr
    assert "解析 0/" in out.stderr and "向量化" in out.stderr and "（100%）" in out.stderr


@pytest.mark.skipif(not scans.font_available(), reason="CJK font not installed (fonts-noto-cjk)")
def test_another_administrator_follows_and_cancels_an_upload_on_the_page(mini_corpus, tmp_path):
    """zhang uploads an eight-page scan; wang, on his own page, sees it being read page by page
    and cancels it: zhang is told, the index and the document folder are as they were."""
    from gradio_client import Client, handle_file

    from .test_ui_client import serve_office

    app, url, service, users = serve_office(mini_corpus, tmp_path)
    users.add("wang", "admin", "wang-pass-1")
    documents = len(service.engine.documents())
    text = "\n".join(f"{n}.第{n}条要求。各学校要落实课后服务工作，保障学生每天校内体育活动时间。" for n in range(1, 160))
    scan = scans.save_pdf(scans.scan_pages(text, header="某区教育局文件"), tmp_path / "scan.pdf")
    try:
        zhang = Client(url, auth=("zhang", "admin-pass"), verbose=False)
        wang = Client(url, auth=("wang", "wang-pass-1"), verbose=False)
        job = zhang.submit([handle_file(str(scan))], KEEP_BOTH, api_name="/upload")
        seen = ""
        for _ in range(600):
            seen = wang.predict(api_name="/build_status")
            if "文字识别" in seen or job.done():
                break
            time.sleep(0.2)
        assert "正在进行：上传 1 个文件（zhang" in seen and "文字识别" in seen, seen
        assert "wang 已要求取消" in wang.predict(api_name="/cancel_build")
        outcome = job.result(timeout=300)[0]
        assert "取消" in outcome and "原索引保持不变" in outcome
        assert "已取消" in wang.predict(api_name="/build_status")
        assert len(service.engine.documents()) == documents
        assert not (mini_corpus / "scan.pdf").exists()
        reader = Client(url, auth=("li", "reader-pass"), verbose=False)
        assert reader.predict(api_name="/build_status") == ""  # administrators only
        assert any(r["action"] == "build_cancel" and r["user"] == "wang" for r in service.audit.read())
    finally:
        app.close()
