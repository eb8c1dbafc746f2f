"""The page under misuse: same-named and unreadable uploads, file names and titles with
Markdown in them, a server pointed at an index from another folder, a login attacked by
guessing, a server stopped while it indexes an upload."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.office.service import Service
from assistant.office.throttle import (
    ADDRESS_FREE_FAILURES,
    FIRST_WAIT,
    FREE_FAILURES,
    LONGEST_WAIT,
    NAME_FREE_FAILURES,
    DeviceTokens,
    LoginThrottle,
)
from indexer import store
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .test_ui_client import free_port, launch

ROOT = Path(__file__).resolve().parents[1]
NAME = "2023-甲区教育工作要点.txt"


@pytest.fixture
def page(mini_corpus, tmp_path):
    from gradio_client import Client

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder()))
    yield Client(url, verbose=False), mini_corpus
    app.close()


def _upload(client, path: Path, same_name: str = "keep") -> str:
    from gradio_client import handle_file

    status, *_ = client.predict([handle_file(str(path))], same_name, api_name="/upload")
    return status


def test_a_same_named_upload_does_not_overwrite_the_original(page, tmp_path):
    client, corpus = page
    original = (corpus / NAME).read_text(encoding="utf-8")
    new = tmp_path / "up" / NAME
    new.parent.mkdir()
    new.write_text("甲区教育局2023年工作要点（征求意见稿）\n一、总则\n1.做好课后服务。内容。\n", encoding="utf-8")
    status = _upload(client, new)
    assert (corpus / NAME).read_text(encoding="utf-8") == original
    assert "原文件保持不变" in status and "2023-甲区教育工作要点（2）.txt" in status and "更新 0" in status
    new.write_text("甲区教育局2023年工作要点（定稿）\n一、总则\n1.做好课后服务。定稿内容。\n", encoding="utf-8")
    status = _upload(client, new, "replace")
    assert "已替换" in status and ".removed/" in status
    assert [p.read_text(encoding="utf-8") for p in (corpus / ".removed").glob("*.txt")] == [original]


def test_an_unreadable_upload_is_refused_and_not_left_in_the_corpus(page, tmp_path):
    client, corpus = page
    binary = tmp_path / "数据.txt"
    binary.write_bytes(bytes(range(256)) * 64)
    status = _upload(client, binary)
    assert "未加入：数据.txt" in status and "已加入索引" not in status
    assert not (corpus / "数据.txt").exists()


def test_file_names_and_titles_are_shown_as_text(page, tmp_path):
    client, corpus = page
    name = "[点我](evil.example) **粗体**.txt"
    path = tmp_path / "up" / name
    path.parent.mkdir()
    path.write_text("[链接](http://evil.example) **粗体**的通知\n一、总则\n1.党建品牌创建。内容。\n", encoding="utf-8")
    status = _upload(client, path)
    assert "<a" not in status and "<strong>" not in status and "[点我](evil.example)" in status
    coverage, *_ = client.predict("党建品牌创建", [], [], api_name="/precedents")
    assert "<a" not in coverage and "<strong>" not in coverage and "[链接](http://evil.example)" in coverage


def test_a_server_started_elsewhere_rebuilds_from_the_indexed_folder(mini_corpus, tmp_path, monkeypatch):
    """`make run` indexes `corpus` relatively; `ui.py --index /abs/index` from another folder
    once rebuilt from <cwd>/corpus and dropped every document."""
    from gradio_client import Client

    monkeypatch.chdir(tmp_path)
    build_index(Path("corpus"), Path("index"), embedder=FakeEmbedder())
    manifest = json.loads((tmp_path / "index" / store.MANIFEST).read_text(encoding="utf-8"))
    manifest["corpus"] = "corpus"  # as indexes of earlier versions recorded it
    (tmp_path / "index" / store.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "corpus").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    app, url = launch(Service(tmp_path / "index", embedder=FakeEmbedder()))
    try:
        new = tmp_path / "新通知.txt"
        new.write_text("丙区通知\n一、总则\n1.做好课后服务。内容。\n", encoding="utf-8")
        _upload(Client(url, verbose=False), new)
    finally:
        app.close()
    assert store.read_manifest(tmp_path / "index")["counts"]["documents"] == 3
    assert (mini_corpus / "新通知.txt").exists() and not (elsewhere / "corpus" / "新通知.txt").exists()


# --- the login --------------------------------------------------------------------------------

def test_failed_logins_wait_longer_each_time():
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(FREE_FAILURES - 1):
        throttle.failed("admin", "10.0.0.1")
        assert throttle.wait("admin", "10.0.0.1") == 0
    throttle.failed("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == FIRST_WAIT  # this name at this address waits
    assert throttle.wait("bob", "10.0.0.1") == 0  # another name at the address does not, yet
    for n in range(NAME_FREE_FAILURES - FREE_FAILURES):
        throttle.failed("admin", f"10.0.1.{n}")
    assert throttle.wait("admin", "10.0.9.9") == FIRST_WAIT  # the name, from any address
    now[0] += FIRST_WAIT
    throttle.failed("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == 2 * FIRST_WAIT
    for _ in range(30):
        throttle.failed("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == LONGEST_WAIT
    throttle.succeeded("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == 0


def test_another_accounts_success_does_not_clear_the_count():
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(50):  # 4 guesses at the administrator, then a login with one's own reader account
        for _ in range(4):
            throttle.failed("admin", "10.0.0.1")
        throttle.succeeded("reader", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == LONGEST_WAIT


def test_one_password_sprayed_over_many_names_waits_by_address():
    throttle = LoginThrottle(clock=lambda: 1000.0)
    for n in range(ADDRESS_FREE_FAILURES):
        assert throttle.wait(f"user{n}", "10.0.0.1") == 0
        throttle.failed(f"user{n}", "10.0.0.1")
    assert throttle.wait("anyone", "10.0.0.1") == FIRST_WAIT
    assert throttle.wait("anyone", "10.0.0.2") == 0


def test_guessing_cannot_lock_out_a_returning_user():
    throttle = LoginThrottle(clock=lambda: 1000.0)
    devices = DeviceTokens(clock=lambda: 1000.0)
    token = devices.issue("admin")
    for _ in range(100):  # an anonymous guesser, at the same (proxy) address
        throttle.failed("admin", "127.0.0.1")
    assert throttle.wait("admin", "127.0.0.1") == LONGEST_WAIT
    device = devices.device(token, "admin")
    assert device and throttle.wait("admin", "127.0.0.1", device) == 0
    assert devices.device(token, "reader") is None and devices.device(token[:-2] + "xx", "admin") is None
    assert DeviceTokens(clock=lambda: 1000.0 + 31 * 86400).device(token, "admin") is None  # another key


def test_guessing_passwords_is_throttled_and_logged(mini_corpus, tmp_path, caplog):
    import httpx
    from gradio_client import Client

    from webui.access import LoginGate

    LoginGate.throttle = LoginThrottle()
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, embedder=FakeEmbedder()), auth=("admin", "s3cret"))
    caplog.set_level(logging.WARNING, logger="policyqa.ui")
    try:
        codes = [httpx.post(f"{url}login", data={"username": "admin", "password": f"guess{n}"}).status_code
                 for n in range(50)]
        assert codes[:FREE_FAILURES] == [400] * FREE_FAILURES and set(codes[FREE_FAILURES:]) == {429}
        refused = httpx.post(f"{url}login", data={"username": "admin", "password": "s3cret"})
        assert refused.status_code == 429 and "秒后再试" in refused.json()["detail"]
        assert sum("登录失败" in r.getMessage() for r in caplog.records) == FREE_FAILURES
        assert any("登录被限制" in r.getMessage() for r in caplog.records)
        LoginGate.throttle = LoginThrottle()  # the wait over: the right password works
        answer, _ = Client(url, auth=("admin", "s3cret"), verbose=False).predict("发展党员", [], [], [], api_name="/ask")
        assert "出处" in answer
    finally:
        app.close()
        LoginGate.throttle = LoginThrottle()


# --- a server stopped mid-build ------------------------------------------------------------------------

@pytest.mark.skipif(not __import__("indexer.second", fromlist=["x"]).available(), reason="needs the second model")
def test_a_server_stopped_while_indexing_leaves_no_staging_folder(mini_corpus, tmp_path):
    from gradio_client import Client, handle_file

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    big = tmp_path / "up" / "长文件.txt"  # thousands of sentences: seconds of the second model
    big.parent.mkdir()
    big.write_text("某局通知\n一、总则\n" + "".join(f"{n}.第{n}项工作。开展第{n}次检查，落实整改要求。\n"
                                              for n in range(1, 3000)), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "POLICYQA_MODEL": "fake", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "ui.py", "--index", str(index_dir), "--corpus", str(mini_corpus),
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(lambda: _up(url), 120, proc)
        Client(url, verbose=False).submit([handle_file(str(big))], "keep", api_name="/upload")
        _wait(lambda: any((p / store.VECTORS).exists() for p in tmp_path.glob(".index.tmp-*")), 120, proc)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode is not None and not list(tmp_path.glob(".index.tmp-*"))
    assert store.read_manifest(index_dir)["counts"]["documents"] == 2


def _up(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


def _wait(predicate, seconds: float, proc) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
