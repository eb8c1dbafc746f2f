"""Accounts, roles enforced by the server on every API name, the audit log and feedback,
through gradio_client against the page; the follow-up rule as a unit."""

from __future__ import annotations

import json
import stat

import pytest

from assistant.answers.followup import understand
from assistant.cli.commands import main as core_main
from assistant.office.accounts import AccountError, UsersFile, hash_password, verify_password

from .test_ui_client import serve_office

ADMIN_APIS = {  # api name → arguments (the server must refuse each for a reader)
    "/upload": lambda tmp: ([_file(tmp)], "keep"),
    "/remove": lambda tmp: ("82f58b2067",),
    "/restore": lambda tmp: ("x.txt",),
    "/rebuild": lambda tmp: (),
    "/audit": lambda tmp: (),
    "/feedback_report": lambda tmp: (),
}
READER_APIS = {"/ask": ("发展党员", [], [], [], ""), "/search": ("发展党员", 5, [], [], []),
               "/list_documents": (), "/precedents": ("发展党员", [], []), "/draft_check": ("一、总则\n1.发展党员。内容。", None),
               "/feedback": ("发展党员", "没用", "没有写到入党积极分子")}


def _file(tmp):
    from gradio_client import handle_file

    path = tmp / "upload" / "2025-丙区通知.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text("丙区通知\n一、总则\n1.做好课后服务。内容。\n", encoding="utf-8")
    return handle_file(str(path))


def test_passwords_are_stored_as_scrypt_hashes(tmp_path, capsys):
    users = tmp_path / "users.json"
    assert core_main(["user", "add", "zhang", "--role", "admin", "--users", str(users), "--password", "s3cret-pw"]) == 0
    assert core_main(["user", "add", "li", "--users", str(users), "--password", "reader-pw"]) == 0
    text = users.read_text(encoding="utf-8")
    assert "s3cret-pw" not in text and "scrypt$" in text
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    accounts = UsersFile(users)
    assert accounts.check("zhang", "s3cret-pw").is_admin and accounts.check("li", "reader-pw").role == "reader"
    assert accounts.check("zhang", "wrong") is None and accounts.check("nobody", "x") is None
    assert core_main(["user", "list", "--users", str(users)]) == 0
    assert "zhang\t管理员" in capsys.readouterr().out
    assert core_main(["user", "remove", "li", "--users", str(users)]) == 0
    assert UsersFile(users).get("li") is None
    assert core_main(["user", "add", "wang", "--users", str(users), "--password", "short"]) == 1
    assert "至少 8 个字符" in capsys.readouterr().err
    h = hash_password("密码")
    assert verify_password("密码", h) and not verify_password("密碼", h) and h != hash_password("密码")


def test_a_broken_users_file_is_refused(tmp_path):
    bad = tmp_path / "users.json"
    bad.write_text('{"users": []}', encoding="utf-8")
    with pytest.raises(AccountError, match="不是 policyqa 用户文件"):
        UsersFile(bad).accounts()


@pytest.fixture
def office(mini_corpus, tmp_path):
    """The page with a users file: an administrator and a reader."""
    from gradio_client import Client

    app, url, service, _ = serve_office(mini_corpus, tmp_path)
    yield service, Client(url, auth=("zhang", "admin-pass"), verbose=False), Client(url, auth=("li", "reader-pass"),
                                                                                      verbose=False)
    app.close()


def test_readers_are_refused_every_administrator_action(office, tmp_path, mini_corpus):
    service, admin, reader = office
    before = sorted(p.name for p in mini_corpus.iterdir())
    for api, args in ADMIN_APIS.items():
        out = reader.predict(*args(tmp_path), api_name=api)
        text = json.dumps(out, ensure_ascii=False)
        assert "需要管理员权限" in text, (api, text[:200])
    assert sorted(p.name for p in mini_corpus.iterdir()) == before  # nothing changed
    for api, args in READER_APIS.items():
        text = json.dumps(reader.predict(*args, api_name=api), ensure_ascii=False)
        assert "需要管理员权限" not in text and "内部错误" not in text, api


def test_administrators_upload_remove_and_restore_and_each_is_audited(office, tmp_path, mini_corpus):
    service, admin, reader = office
    status, *_ = admin.predict(*ADMIN_APIS["/upload"](tmp_path), api_name="/upload")
    assert "已加入索引：2025-丙区通知.txt" in status
    doc_id = next(d.doc_id for d in service.engine.documents() if d.source == "2025-丙区通知.txt")
    status, *_ = admin.predict(doc_id, api_name="/remove")
    assert "已从索引移除：2025-丙区通知.txt" in status
    (stored,) = [e.stored for e in service.removed()]
    status, *_ = admin.predict(stored, api_name="/restore")
    assert "已恢复：2025-丙区通知.txt" in status and (mini_corpus / "2025-丙区通知.txt").exists()
    status, *_ = admin.predict(api_name="/rebuild")
    assert "索引已是最新" in status
    rows = admin.predict(api_name="/audit")
    rows = rows["data"] if isinstance(rows, dict) else rows
    actions = [(r[1], r[2], r[3]) for r in rows]
    for expected in [("zhang", "上传", "2025-丙区通知.txt"), ("zhang", "移除", "2025-丙区通知.txt"),
                     ("zhang", "恢复", "2025-丙区通知.txt"), ("zhang", "重建索引", ""), ("zhang", "登录", ""),
                     ("li", "登录", "")]:
        assert expected in actions, (expected, actions)
    lines = [json.loads(line) for line in service.audit.path.read_text(encoding="utf-8").splitlines()]
    assert all({"time", "user", "action"} <= set(line) for line in lines)


def test_feedback_is_recorded_and_unanswered_questions_are_listed_for_administrators(office):
    service, admin, reader = office
    assert "谢谢" in reader.predict("发展党员", "没用", "没有写到入党积极分子", api_name="/feedback")
    assert "谢谢" in reader.predict("发展党员", "没用", "", api_name="/feedback")
    service.answerer().min_relevance = 5.0  # the fake model finds everything relevant: make nothing be
    answer, _ = reader.predict("今天天气怎么样", [], [], [], "", api_name="/ask")
    assert "没有找到" in answer  # and it is recorded
    rows = admin.predict(api_name="/feedback_report")
    rows = rows["data"] if isinstance(rows, dict) else rows
    first = rows[0]
    assert first[0] == "发展党员" and int(first[1]) == 2 and first[2] == "没用" and "入党积极分子" in first[3]
    records = [json.loads(line) for line in service.feedback.path.read_text(encoding="utf-8").splitlines()]
    assert {r["kind"] for r in records} == {"vote", "not_found"} and records[0]["user"] == "li"


def test_a_follow_up_through_the_api(office):
    service, admin, reader = office
    answer, passages = reader.predict("那2024年呢", [], [], [], "发展党员有哪些要求", api_name="/ask")
    assert "理解为：2024年 发展党员有哪些要求" in answer


@pytest.mark.parametrize("question, previous, understood, follow", [
    ("那2024年呢", "发展党员有哪些要求", "2024年 发展党员有哪些要求", True),
    ("宝山区呢", "发展党员有哪些要求", "宝山区 发展党员有哪些要求", True),
    ("具体有哪些指标", "发展党员有哪些要求", "发展党员具体有哪些指标", True),
    ("那近视防控呢", "发展党员有哪些要求", "近视防控有哪些要求", True),
    ("那么金坛区2023年呢", "2024年 发展党员有哪些要求", "2023年金坛区 发展党员有哪些要求", True),
    ("2024年发展党员有哪些要求", "发展党员有哪些要求", "2024年发展党员有哪些要求", False),
    ("师德师风建设", "发展党员有哪些要求", "师德师风建设", False),
    ("孩子在学校被欺负怎么办", "发展党员有哪些要求", "孩子在学校被欺负怎么办", False),
    ("那2024年呢", None, "那2024年呢", False),  # nothing to follow
])
def test_the_follow_up_rule(question, previous, understood, follow):
    assert understand(question, previous) == (understood, follow)
