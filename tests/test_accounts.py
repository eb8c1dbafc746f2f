"""Accounts done properly (issue 33): logging out, sessions that end when idle (the page's own
polling does not count), a user's own password change and an administrator's reset, each
audited with the user's name."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import httpx
import pytest

from assistant.office.accounts import UsersFile
from assistant.office.journal import Audit
from webui.access import Access, NotAllowed

from .test_ui_client import launch, serve_office


def _audit(service) -> list[dict]:
    return [json.loads(line) for line in service.audit.path.read_text(encoding="utf-8").splitlines()]


def _logged_in(url: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    assert client.post("login", data={"username": name, "password": password}).status_code == 200
    return client


def _documents(client: httpx.Client) -> int:
    return client.get("api/v1/documents").status_code


def test_logging_out_ends_the_session_and_is_audited(mini_corpus, tmp_path):
    app, url, service, _ = serve_office(mini_corpus, tmp_path)
    try:
        li = _logged_in(url, "li", "reader-pass")
        other = _logged_in(url, "li", "reader-pass")  # the same user in another browser
        assert _documents(li) == 200 and _documents(other) == 200
        out = li.get("logout", params={"all_session": "false"}, follow_redirects=False)
        assert out.status_code in (302, 307)
        li.cookies.clear()  # as the browser does with the cookie the response deleted
        assert _documents(li) == 401
        assert _documents(other) == 200  # only this session ended
        assert any(r["action"] == "logout" and r["user"] == "li" for r in _audit(service))
    finally:
        app.close()


def test_an_idle_session_ends_and_the_pages_own_polling_does_not_keep_it(mini_corpus, tmp_path):
    app, url, service, users = serve_office(mini_corpus, tmp_path)
    app.close()
    app, url = launch(service, users=users, idle_minutes=0.05)  # 3 seconds
    try:
        busy, idle = _logged_in(url, "li", "reader-pass"), _logged_in(url, "zhang", "admin-pass")
        for _ in range(5):
            time.sleep(1)
            assert _documents(busy) == 200  # something done every second: still logged in
            idle.post("gradio_api/run/build_status", json={"data": []})  # the progress panel's timer
        assert _documents(idle) == 401  # only polled: logged out
        assert _documents(busy) == 200
        expired = [r for r in _audit(service) if r["action"] == "session_expired"]
        assert [r["user"] for r in expired] == ["zhang"]
    finally:
        app.close()


def _access(tmp_path) -> Access:
    users = UsersFile(tmp_path / "users.json")
    users.add("zhang", "admin", "admin-pass")
    users.add("li", "reader", "reader-pass")
    return Access(users=users, audit=Audit(tmp_path / "audit.jsonl"))


def test_a_user_changes_their_own_password(tmp_path):
    access = _access(tmp_path)
    for current, new, repeated, why in [("wrong-pass", "new-pass-1", "new-pass-1", "当前密码不对"),
                                        ("reader-pass", "new-pass-1", "new-pass-2", "不一致"),
                                        ("reader-pass", "short", "short", "至少 8"),
                                        ("reader-pass", "reader-pass", "reader-pass", "相同")]:
        with pytest.raises(Exception, match=why):
            access.change_password("li", current, new, repeated)
    assert access.users.check("li", "reader-pass") is not None
    access.change_password("li", "reader-pass", "new-pass-1", "new-pass-1")
    assert access.users.check("li", "new-pass-1") is not None and access.users.get("li").role == "reader"
    with pytest.raises(NotAllowed):  # not an account of the users file
        access.change_password("ghost", "x", "new-pass-1", "new-pass-1")
    assert [r["action"] for r in access.audit.read()] == ["password_change"]


def test_an_administrator_adds_users_and_resets_passwords_a_reader_cannot(tmp_path):
    access = _access(tmp_path)
    admin, reader = SimpleNamespace(username="zhang"), SimpleNamespace(username="li")
    with pytest.raises(NotAllowed):
        access.save_user(reader, "li", "admin", "promoted-1")
    access.save_user(admin, "li", "reader", "reset-pass-1")
    assert access.users.check("li", "reset-pass-1") is not None
    access.save_user(admin, "wang", "admin", "wang-pass-1")
    assert access.users.get("wang").is_admin
    with pytest.raises(NotAllowed, match="自己"):
        access.save_user(admin, "zhang", "reader", "admin-pass")
    with pytest.raises(Exception, match="用户名无效"):
        access.save_user(admin, "a b", "reader", "some-pass-1")
    saved = [(r["user"], r["document"], r["existed"]) for r in access.audit.read() if r["action"] == "user_save"]
    assert saved == [("zhang", "li", True), ("zhang", "wang", False)]
