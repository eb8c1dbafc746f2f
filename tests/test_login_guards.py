"""The login as an attacker tries it (issue 28), against the real server: a form with two
names, a reader's success used to reset the count, a forged X-Forwarded-For, a lock-out of a
returning user, a flood of refused attempts, a session that outlives its account, another
user's conversation and the names of removed documents."""

from __future__ import annotations

import json

import httpx
import pytest

from assistant.office.service import Service
from assistant.office.throttle import FREE_FAILURES, LoginThrottle, RateLimit, Summary
from indexer.build import build_index
from indexer.embed import FakeEmbedder
from webui import access as access_module
from webui.access import LoginGate

from .test_ui_client import serve_office


@pytest.fixture(autouse=True)
def fresh_counts(monkeypatch):
    """The gate's counts are per process: each test starts with none."""
    monkeypatch.setattr(LoginGate, "throttle", LoginThrottle())
    monkeypatch.setattr(LoginGate, "refusals", Summary())
    monkeypatch.setattr(LoginGate, "uploads", RateLimit(access_module.UPLOAD_BURST_BYTES,
                                                         access_module.UPLOAD_BYTES_PER_HOUR))


@pytest.fixture
def office(mini_corpus, tmp_path):
    app, url, service, users = serve_office(mini_corpus, tmp_path)
    yield url, service, users
    app.close()


def _audit(service) -> list[dict]:
    return [json.loads(line) for line in service.audit.path.read_text(encoding="utf-8").splitlines()]


def _login(url: str, name: str, password: str, client: httpx.Client | None = None, **kw) -> httpx.Response:
    return (client or httpx).post(f"{url}login", data={"username": name, "password": password}, **kw)


def test_a_form_with_two_names_is_refused_and_the_browsers_form_is_read(office):
    url, service, _ = office
    both = httpx.post(f"{url}login", content="username=li&username=zhang&password=admin-pass",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert both.status_code == 400 and "一个用户名" in both.json()["detail"]
    assert "set-cookie" not in both.headers
    garbled = httpx.post(f"{url}login", content=b"--xx\r\nnot a part", headers={
        "content-type": "multipart/form-data; boundary=xx"})
    assert garbled.status_code == 400
    browser = httpx.post(f"{url}login", files={"username": (None, "zhang"), "password": (None, "admin-pass")})
    assert browser.status_code == 200  # a browser sends the form as multipart
    rows = _audit(service)
    refused = next(r for r in rows if r["action"] == "login_refused")
    assert "li" in refused["user"] and "zhang" in refused["user"]
    assert any(r["action"] == "login" and r["user"] == "zhang" for r in rows)


def test_a_readers_success_does_not_clear_the_guesses_at_the_administrator(office):
    url, _, _ = office
    codes = []
    for round_ in range(4):
        codes += [_login(url, "zhang", f"guess{round_}{n}").status_code for n in range(4)]
        assert _login(url, "li", "reader-pass").status_code == 200
    assert codes[:FREE_FAILURES] == [400] * FREE_FAILURES and set(codes[FREE_FAILURES:]) == {429}


def test_a_forged_forwarded_header_is_believed_only_from_a_trusted_proxy(mini_corpus, tmp_path):
    app, url, service, _ = serve_office(mini_corpus, tmp_path)
    try:
        codes = [_login(url, "zhang", f"guess{n}", headers={"X-Forwarded-For": f"10.9.0.{n}"}).status_code
                 for n in range(30)]
        assert set(codes[FREE_FAILURES:]) == {429}
        assert {r.get("address") for r in _audit(service)} == {"127.0.0.1"}
    finally:
        app.close()
    LoginGate.throttle = LoginThrottle()
    app, url, service, _ = serve_office(mini_corpus, tmp_path / "proxied", trusted_proxy="127.0.0.1")
    try:
        assert _login(url, "zhang", "wrong", headers={"X-Forwarded-For": "10.9.0.7"}).status_code == 400
        assert _audit(service)[-1]["address"] == "10.9.0.7"  # a proxy the office trusts names the client
    finally:
        app.close()


def test_an_anonymous_guesser_cannot_lock_out_a_returning_user(office):
    url, _, _ = office
    own_browser = httpx.Client()
    assert _login(url, "zhang", "admin-pass", own_browser).status_code == 200  # keeps its device cookie
    assert all(_login(url, "zhang", f"guess{n}").status_code in (400, 429) for n in range(40))
    assert _login(url, "zhang", "admin-pass").status_code == 429  # a stranger waits, even with the password
    assert _login(url, "zhang", "admin-pass", own_browser).status_code == 200


def test_a_flood_of_refused_logins_costs_a_few_lines_of_audit(office):
    url, service, _ = office
    name = "长" * 20_000
    for n in range(200):
        _login(url, "zhang" if n % 2 else name, f"guess{n}")
    size = service.audit.path.stat().st_size
    rows = _audit(service)
    assert size < 8_000 and len(rows) < 20, (size, len(rows))
    assert all(len(r["user"]) <= 65 for r in rows)
    throttled = [r for r in rows if r["action"] == "login_throttled"]
    assert throttled and throttled[0]["user"] == "zhang"


def test_a_removed_or_changed_account_ends_its_sessions_at_once(office):
    from gradio_client import Client

    url, _, users = office
    reader = Client(url, auth=("li", "reader-pass"), verbose=False)
    assert "严格发展党员" in reader.predict("发展党员", 3, [], [], [], api_name="/search")
    users.add("li", "reader", "a-new-password")  # the password changed
    with pytest.raises(Exception):  # noqa: B017 - the client reports the refused session its own way
        reader.predict("发展党员", 3, [], [], [], api_name="/search")
    reader = Client(url, auth=("li", "a-new-password"), verbose=False)
    assert "严格发展党员" in reader.predict("发展党员", 3, [], [], [], api_name="/search")
    users.remove("li")
    with pytest.raises(Exception):  # noqa: B017
        reader.predict("发展党员", 3, [], [], [], api_name="/search")


def test_readers_see_nothing_of_removed_documents(office):
    from gradio_client import Client

    url, service, _ = office
    admin = Client(url, auth=("zhang", "admin-pass"), verbose=False)
    doc_id = next(d.doc_id for d in service.engine.documents() if d.source.startswith("2024"))
    admin.predict(doc_id, api_name="/remove")
    (stored,) = [e.stored for e in service.removed()]
    assert stored in json.dumps(admin.predict(api_name="/rebuild"), ensure_ascii=False)
    reader = Client(url, auth=("li", "reader-pass"), verbose=False)
    refused = json.dumps(reader.predict(api_name="/rebuild"), ensure_ascii=False)  # every list comes back
    assert "需要管理员权限" in refused and stored not in refused
    config = httpx.get(f"{url}config", cookies=dict(_login(url, "li", "reader-pass").cookies)).text
    assert stored not in config


# --- bounded growth --------------------------------------------------------------------------------

def test_logs_rotate_by_size_and_are_read_from_the_end(tmp_path):
    from assistant.office.journal import Audit

    audit = Audit(tmp_path / "audit.jsonl", max_bytes=2_000, backups=2)
    for n in range(500):
        audit.record("login_failed", user=f"user{n}", address="10.0.0.1")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert all((tmp_path / f).stat().st_size <= 2_000 for f in files)
    assert [r["user"] for r in audit.latest(3)] == ["user499", "user498", "user497"]


def test_a_conversation_belongs_to_its_user_and_keeps_questions_short(mini_corpus, tmp_path):
    from types import SimpleNamespace

    from assistant.search.inputs import MAX_QUERY_CHARS
    from webui.access import Access
    from webui.callbacks import Page

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    page = Page(Service(index_dir, embedder=FakeEmbedder()), Access(admin=("zhang", "pw")))
    zhang, li = SimpleNamespace(username="zhang"), SimpleNamespace(username="li")
    *_, history, _, _, _ = list(page.converse("发展党员有哪些要求" * 10_000, [], [], [], [], zhang))[-1]
    (turn,) = history
    assert len(turn["question"]) <= MAX_QUERY_CHARS and len(turn["html"]) < 20_000
    *_, theirs, understood, _, _ = list(page.converse("那2024年呢", [], [], [], history, li))[-1]
    assert understood == "那2024年呢" and [t["user"] for t in theirs] == ["li"]  # zhang's question is not li's


def test_feedback_is_rate_limited_per_user(mini_corpus, tmp_path):
    from types import SimpleNamespace

    from webui.access import Access
    from webui.callbacks import FEEDBACK_BURST, Page

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, embedder=FakeEmbedder())
    page = Page(service, Access(admin=("zhang", "pw")))
    flooder, other = SimpleNamespace(username="li"), SimpleNamespace(username="wang")
    replies = [page.feedback("发展党员", "没用", "x" * 5_000, flooder) for _ in range(FEEDBACK_BURST + 30)]
    assert sum("谢谢" in r for r in replies) == FEEDBACK_BURST and "过于频繁" in replies[-1]
    assert "谢谢" in page.feedback("发展党员", "有用", "", other)
    assert service.feedback.path.stat().st_size < (FEEDBACK_BURST + 1) * 2_000


def test_uploaded_files_are_removed_once_used_and_readers_uploads_are_bounded(office, tmp_path, monkeypatch):
    import os

    from gradio_client import Client, handle_file

    url, _, _ = office
    folder = os.environ["GRADIO_TEMP_DIR"]
    upload = tmp_path / "2025-丙区通知.txt"
    upload.write_text("丙区通知\n一、总则\n1.做好课后服务。内容。\n", encoding="utf-8")
    admin = Client(url, auth=("zhang", "admin-pass"), verbose=False)
    status, *_ = admin.predict([handle_file(str(upload))], "keep", api_name="/upload")
    assert "已加入索引" in status
    assert not [p for p in __import__("pathlib").Path(folder).rglob(upload.name)]  # Gradio's copy is gone
    monkeypatch.setattr(LoginGate, "uploads", RateLimit(1_000_000, 1_000))  # a share of 1 MB
    cookies = dict(_login(url, "li", "reader-pass").cookies)
    codes = [httpx.post(f"{url}gradio_api/upload", cookies=cookies,
                        files={"files": (f"草稿{n}.txt", b"x" * 400_000)}).status_code for n in range(4)]
    assert codes[:2] == [200, 200] and codes[-1] == 429


def test_one_client_cannot_fill_the_queue(tmp_path):
    import threading
    import time

    import gradio as gr
    from gradio_client import Client

    from webui.server import share_queue

    with gr.Blocks() as app:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(lambda x: time.sleep(1.5) or x, box, out, api_name="slow", concurrency_limit=2)
    app.queue(max_size=64)
    share_queue(app, 4)
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, auth=[("flood", "pw-flood"), ("other", "pw-other")])
    try:
        flooder = Client(url, auth=("flood", "pw-flood"), verbose=False)
        jobs = [flooder.submit(str(n), api_name="/slow") for n in range(12)]
        time.sleep(0.5)
        other: list[str] = []
        someone = Client(url, auth=("other", "pw-other"), verbose=False)
        waiter = threading.Thread(target=lambda: other.append(someone.predict("我的", api_name="/slow")))
        waiter.start()
        waiter.join(60)
        outcomes = []
        for job in jobs:
            try:
                outcomes.append(job.result(timeout=60))
            except Exception as e:  # noqa: BLE001 - refused at the queue
                outcomes.append(type(e).__name__)
    finally:
        app.close()
    assert other == ["我的"]
    assert 4 <= sum(o.isdigit() for o in outcomes) < 12  # the flooder's share ran, the rest was refused


def test_waiting_requests_are_served_user_by_user():
    from types import SimpleNamespace

    from webui.server import _in_turn

    def event(user: str, n: int):
        return SimpleNamespace(username=user, request=None, n=n)

    waiting = [event("flood", n) for n in range(5)] + [event("li", 0), event("wang", 0), event("li", 1)]
    order = [(e.username, e.n) for e in _in_turn(waiting)]
    assert order == [("flood", 0), ("li", 0), ("wang", 0), ("flood", 1), ("li", 1), ("flood", 2), ("flood", 3),
                     ("flood", 4)]
