"""Who reads which library, on a server holding two (issue 33): a permissions matrix of users ×
routes, generated here and run against the served page and API — the page's actions through
gradio_client, the JSON API, the OpenAI-compatible endpoint and MCP over HTTP with each user's
login. A document's text, title or id never reaches someone who may not read its library, nor an
internal document (`内部`) someone who may read its library but not its internal documents.
Then the changes: an editor uploads, marks and removes in their own library only."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from assistant.office.accounts import UsersFile
from assistant.office.libraries import LibrariesFile
from assistant.office.shelf import Shelf
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .conftest import MINI_DOCS
from .test_ui_client import launch

SAFETY = {"2024-丙区校园安全工作要点.txt": "丙区教育局2024年校园安全工作要点\n\n一、校园安全\n"
                                     "1.开展防溺水教育。暑假前组织防溺水专题教育，覆盖全部中小学生。\n"
                                     "2.加强食品安全。学校食堂“明厨亮灶”全覆盖。\n"}
INTERNAL_FILE = "2024-丁号通报.txt"  # in 安全, marked internal
INTERNAL_DOC = {INTERNAL_FILE: "溺水事故情况通报\n\n一、事故经过\n1.某校学生暑期在河道游泳溺水，经抢救脱险。防溺水教育要落实到每个家庭。\n"}
TEACHING_MARK, SAFETY_MARK, INTERNAL_MARK = "甲区教育局", "丙区教育局", "溺水事故情况通报"
# who: (password, libraries they read, libraries whose internal documents they read)
PEOPLE = {"zhang": ("zhang-pass-1", {"教学", "安全"}, {"教学", "安全"}), "li": ("li-pass-1", {"教学"}, {"教学"}),
          "wang": ("wang-pass-1", {"安全"}, set()), "sun": ("sun-pass-1", {"安全"}, {"安全"}),
          "zhou": ("zhou-pass-1", {"安全"}, {"安全"}), "wu": ("wu-pass-1", {"安全"}, {"安全"}),
          "zhao": ("zhao-pass-1", set(), set())}


def _library(root, name: str, docs: dict[str, str]) -> None:
    corpus = root / name / "corpus"
    corpus.mkdir(parents=True)
    for file, text in docs.items():
        (corpus / file).write_text(text, encoding="utf-8")
    build_index(corpus, root / name / "index", embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    root = tmp_path_factory.mktemp("libraries")
    _library(root, "teaching", MINI_DOCS)
    _library(root, "safety", {**SAFETY, **INTERNAL_DOC})
    registry = LibrariesFile(root / "libraries.json")
    registry.add("教学", "teaching/index", "teaching/corpus")
    registry.add("安全", "safety/index", "safety/corpus")
    registry.grant("教学", "li", "reader")
    registry.grant("安全", "group:安全办", "reader")
    registry.grant("安全", "sun", "insider")  # reads its internal documents too
    registry.grant("安全", "wu", "editor")
    users = UsersFile(root / "users.json")
    users.add("zhang", "admin", PEOPLE["zhang"][0])
    users.add("li", "reader", PEOPLE["li"][0])
    users.add("wang", "reader", PEOPLE["wang"][0], groups=["安全办"])
    users.add("sun", "reader", PEOPLE["sun"][0])
    users.add("zhou", "insider", PEOPLE["zhou"][0], groups=["安全办"])  # the role: internal wherever they read
    users.add("wu", "reader", PEOPLE["wu"][0])
    users.add("zhao", "reader", PEOPLE["zhao"][0])
    shelf = Shelf.from_file(registry, model="fake")
    safety = shelf.services["安全"]
    ((internal,), _) = safety.set_visibility([d.doc_id for d in safety.engine.documents()
                                              if d.source == INTERNAL_FILE], "内部")
    ids = {name: [d.doc_id for d in service.engine.documents() if d.source != INTERNAL_FILE]
           for name, service in shelf.services.items()}
    ids["内部"] = [internal.doc_id]
    app, url = launch(shelf.default, users=users, shelf=shelf)
    yield {"url": url, "ids": ids, "shelf": shelf, "root": root}
    app.close()


def _session(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    assert client.post("login", data={"username": name, "password": PEOPLE[name][0]}).status_code == 200
    return client


def _api_calls(http: httpx.Client, ids: dict[str, list[str]]) -> dict[str, str]:
    """Every API route that reaches a document, as this user: route → what came back."""
    t, s, i = ids["教学"][0], ids["安全"][0], ids["内部"][0]
    calls = {
        "search": http.post("api/v1/search", json={"query": "教育 防溺水 发展党员", "k": 10}),
        "ask": http.post("api/v1/ask", json={"question": "防溺水教育有什么要求"}),
        "ask stream": http.post("api/v1/ask", json={"question": "发展党员有哪些要求", "stream": True}),
        "documents": http.get("api/v1/documents"),
        "document 教学": http.get(f"api/v1/documents/{t}"),
        "document 安全": http.get(f"api/v1/documents/{s}"),
        "section 安全": http.get(f"api/v1/documents/{s}/sections/1"),
        "document 内部": http.get(f"api/v1/documents/{i}"),
        "section 内部": http.get(f"api/v1/documents/{i}/sections/1"),
        "changes 内部": http.post("api/v1/changes", json={"first": s, "second": i}),
        "precedents": http.post("api/v1/precedents", json={"topic": "防溺水教育"}),
        "compare": http.post("api/v1/compare", json={"first": f"{t}#1", "second": f"{s}#1"}),
        "changes": http.post("api/v1/changes", json={"first": t, "second": s}),
        "draft-check": http.post("api/v1/draft-check", json={"text": "一、安全\n1.开展防溺水教育。\n"}),
        "openai": http.post("v1/chat/completions", json={"model": "x", "messages": [
            {"role": "user", "content": "防溺水教育有什么要求"}]}),
        "mcp": http.post("mcp", headers={"Accept": "application/json, text/event-stream"}, json={
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "防溺水 发展党员", "k": 10}}}),
    }
    return {route: r.text for route, r in calls.items()}


def _page_calls(url: str, name: str, ids: dict[str, list[str]]) -> dict[str, str]:
    from gradio_client import Client

    page = Client(url, auth=(name, PEOPLE[name][0]), verbose=False)
    t, s, i = ids["教学"][0], ids["安全"][0], ids["内部"][0]
    return {
        "page search": page.predict("教育 防溺水 发展党员", 10, [], [], [], api_name="/search"),
        "page ask": " ".join(page.predict("防溺水教育有什么要求", [], [], [], api_name="/ask")),
        "page documents": json.dumps(page.predict(api_name="/list_documents"), ensure_ascii=False),
        "page document 安全": page.predict(s, "", api_name="/show_document"),
        "page document 教学": page.predict(t, "", api_name="/show_document"),
        "page document 内部": page.predict(i, "", api_name="/show_document"),
        "page precedents": json.dumps(page.predict("防溺水教育", [], [], api_name="/precedents"), ensure_ascii=False),
        "page compare": page.predict(f"{t}#1", f"{s}#1", api_name="/compare"),
        "page changes": page.predict(t, s, api_name="/changes"),
    }


@pytest.mark.parametrize("name", sorted(PEOPLE))
def test_every_route_shows_a_user_only_the_libraries_they_may_read(office, name):
    url, ids = office["url"], office["ids"]
    http = _session(url, name)
    try:
        seen = {**_api_calls(http, ids), **_page_calls(url, name, ids)}
    finally:
        http.close()
    reads, inside = PEOPLE[name][1], PEOPLE[name][2]
    for library, mark in (("教学", TEACHING_MARK), ("安全", SAFETY_MARK), ("内部", INTERNAL_MARK)):
        hidden = library not in reads if library != "内部" else "安全" not in inside
        for route, text in seen.items():
            if hidden:
                assert mark not in text, f"{name} reached {library} through {route}: {text[:300]}"
                # a refusal may repeat the id the caller sent (找不到文档：<id>), never more
                assert "找不到" in text or not any(d in text for d in ids[library]), f"{name}: {route}: {text[:300]}"
    shown_to_readers = {"安全": (SAFETY_MARK, ["search", "ask", "documents", "document 安全", "section 安全", "openai",
                                              "mcp", "page search", "page ask", "page documents", "page document 安全"]),
                        "教学": (TEACHING_MARK, ["documents", "document 教学", "page documents", "page document 教学"]),
                        "内部": (INTERNAL_MARK, ["search", "documents", "document 内部", "section 内部", "mcp",
                                               "page search", "page documents", "page document 内部"])}
    for library in reads | ({"内部"} if "安全" in inside else set()):  # what they may read reaches them, by each route
        mark, routes = shown_to_readers[library]
        for route in routes:
            assert mark in seen[route], f"{name} did not get {library} through {route}: {seen[route][:300]}"
    if not reads:
        assert "可以阅读的库" in seen["search"] and "可以阅读的库" in seen["page search"]



def test_an_editor_changes_their_own_library_only(office):
    from gradio_client import Client

    url, shelf, root = office["url"], office["shelf"], office["root"]
    notice = ("2025-丙区防汛通知.txt", "丙区教育局2025年防汛工作通知\n\n一、防汛值班\n1.各校汛期落实防汛值班表，每日报告。\n".encode())
    teaching_before = sorted(p.name for p in (root / "teaching" / "corpus").iterdir())
    wu, wang, sun, li = (_session(url, n) for n in ("wu", "wang", "sun", "li"))
    try:
        refused = wu.post("api/v1/admin/upload", params={"library": "教学"}, files={"files": notice})
        assert refused.status_code == 403 and "编辑权限" in refused.json()["error"]["message"]
        assert li.post("api/v1/admin/upload", files={"files": notice}).status_code == 403
        done = wu.post("api/v1/admin/upload", params={"library": "安全", "visibility": "internal"}, files={"files": notice})
        assert done.status_code == 200 and done.json()["library"] == "安全", done.text
        assert done.json()["files"][0]["action"] == "added"

        def seen_by(http):  # the notice's file name, if any result is of it
            return http.post("api/v1/search", json={"query": "防汛值班", "k": 10}).text

        assert "丙区防汛通知" not in seen_by(wang) and "丙区防汛通知" in seen_by(sun)  # internal from the start
        doc_id = next(d.doc_id for d in shelf.services["安全"].engine.documents() if d.source == notice[0])
        assert wang.post(f"api/v1/admin/documents/{doc_id}/visibility", json={"visibility": "public"}).status_code == 404
        public = office["ids"]["安全"][0]  # one a reader sees but may not change
        assert wang.post(f"api/v1/admin/documents/{public}/visibility", json={"visibility": "internal"}).status_code == 403
        made = wu.post(f"api/v1/admin/documents/{doc_id}/visibility", json={"visibility": "公开"})
        assert made.status_code == 200 and made.json()["changed"], made.text
        assert "丙区防汛通知" in seen_by(wang)  # at once, without a rebuild
        teaching_doc = office["ids"]["教学"][0]
        assert wu.delete(f"api/v1/admin/documents/{teaching_doc}", params={"confirm": "true"}).status_code == 404
        assert sorted(p.name for p in (root / "teaching" / "corpus").iterdir()) == teaching_before

        page = Client(url, auth=("wu", PEOPLE["wu"][0]), verbose=False)
        status, *_ = page.predict(doc_id, "internal", api_name="/set_visibility")
        assert "已将" in status and "内部" in status
        assert "丙区防汛通知" not in seen_by(wang) and "丙区防汛通知" in seen_by(sun)
        status, *_ = page.predict("教学", api_name="/rebuild")
        assert "编辑权限" in status
        status, *_ = page.predict("安全", api_name="/rebuild")
        assert "库“安全”的索引已是最新" in status
        entries = [json.loads(line) for line in shelf.default.audit.path.read_text(encoding="utf-8").splitlines()]
        marks = [(e["user"], e["visibility"], e.get("library")) for e in entries if e["action"] == "visibility"]
        assert marks == [("wu", "public", "安全"), ("wu", "internal", "安全")]
        removed = wu.delete(f"api/v1/admin/documents/{doc_id}", params={"confirm": "true"})
        assert removed.status_code == 200 and removed.json()["library"] == "安全"
    finally:
        for http in (wu, wang, sun, li):
            http.close()


def test_an_administrator_creates_renames_and_removes_a_library_while_serving(office):
    from gradio_client import Client

    url, root = office["url"], office["root"]
    admin = Client(url, auth=("zhang", PEOPLE["zhang"][0]), verbose=False)
    status, rows, *_ = Client(url, auth=("li", PEOPLE["li"][0]), verbose=False).predict("x", "", "",
                                                                                       api_name="/create_library")
    assert "需要管理员权限" in status
    status, rows, *_ = admin.predict("培训", "", "", api_name="/create_library")
    assert "已新建库“培训”" in status and (root / "培训" / "corpus").is_dir()
    status, *_ = admin.predict("培训", "li", "editor", api_name="/library_role")
    assert "编辑" in status
    li, wang = _session(url, "li"), _session(url, "wang")
    try:
        notice = ("2025-师训通知.txt", "甲区2025年教师培训通知\n\n一、培训安排\n1.新任教师岗前培训不少于120学时。\n".encode())
        done = li.post("api/v1/admin/upload", params={"library": "培训"}, files={"files": notice})
        assert done.status_code == 200 and done.json()["library"] == "培训", done.text  # its first index

        def found(http):
            return http.post("api/v1/search", json={"query": "新任教师岗前培训学时", "k": 5}).json()["results"]

        assert any(r["library"] == "培训" and r["source"] == notice[0] for r in found(li))
        assert all(r["source"] != notice[0] for r in found(wang))
        status, rows, *_ = admin.predict("培训", "师训", api_name="/rename_library")
        assert "改名为“师训”" in status
        assert any(r["library"] == "师训" and "［师训］" in r["citation"] for r in found(li))  # at once, same index
        status, *_ = admin.predict("师训", "培训", api_name="/remove_library")
        assert "再输入一次库名" in status
        status, rows, *_ = admin.predict("师训", "师训", api_name="/remove_library")
        assert "移出列表" in status and all(row[0] != "师训" for row in (rows["data"] if isinstance(rows, dict) else rows))
        assert all(r["source"] != notice[0] for r in found(li)) and (root / "培训" / "corpus" / notice[0]).exists()
    finally:
        li.close()
        wang.close()


@pytest.mark.browser
def test_in_the_browser_a_reader_sees_only_their_library(office):
    from selenium.webdriver.common.by import By

    from .test_browser import _browser_login, _wait, start_chrome

    browser = start_chrome()
    try:
        for name, shown, hidden in (("li", TEACHING_MARK, SAFETY_MARK), ("wang", SAFETY_MARK, TEACHING_MARK)):
            browser.delete_all_cookies()
            _browser_login(browser, office["url"], name, PEOPLE[name][0])
            box = browser.find_element(By.CSS_SELECTOR, "#pq-question textarea")
            box.send_keys("防溺水教育和发展党员有哪些要求")
            browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
            _wait(browser, lambda d, mark=shown: mark in d.find_element(By.ID, "pq-passages").text, 60)
            browser.find_element(By.CSS_SELECTOR, "button[role=tab]:nth-of-type(4)").click()  # 文档
            _wait(browser, lambda d, mark=shown: mark[:2] in d.find_element(By.ID, "pq-docs-table").text, 30)
            time.sleep(1)
            assert hidden not in browser.page_source and hidden[:2] not in browser.page_source, name
            assert INTERNAL_MARK not in browser.page_source, name  # li: not their library; wang: internal
        _in_the_browser_an_insider_and_an_editor(browser, office["url"])
    finally:
        browser.quit()


def _in_the_browser_an_insider_and_an_editor(browser, url: str) -> None:
    """sun reads 安全's internal document, labelled 内部; wu, its editor, has the 管理 tab with the
    library's tools but not the administrators' (users, keys, audit)."""
    from selenium.webdriver.common.by import By

    from .test_browser import _browser_login, _wait

    browser.delete_all_cookies()
    _browser_login(browser, url, "sun", PEOPLE["sun"][0])
    browser.find_element(By.CSS_SELECTOR, "button[role=tab]:nth-of-type(4)").click()  # 文档
    _wait(browser, lambda d: INTERNAL_MARK in d.find_element(By.ID, "pq-docs-table").text, 30)
    assert "· 内部" in browser.find_element(By.ID, "pq-docs-table").text
    assert not [t for t in browser.find_elements(By.CSS_SELECTOR, "button[role=tab]") if t.text == "管理"]
    browser.delete_all_cookies()
    _browser_login(browser, url, "wu", PEOPLE["wu"][0])
    tab = _wait(browser, lambda d: next((t for t in d.find_elements(By.CSS_SELECTOR, "button[role=tab]")
                                         if t.text == "管理"), None), 30)
    tab.click()
    _wait(browser, lambda d: d.find_element(By.ID, "pq-visibility").is_displayed(), 30)
    assert browser.find_element(By.ID, "pq-upload-visibility").is_displayed()
    assert not browser.find_elements(By.ID, "pq-users-panel") or \
        not browser.find_element(By.ID, "pq-users-panel").is_displayed()
    assert not browser.find_elements(By.ID, "pq-keys-panel") or not browser.find_element(By.ID, "pq-keys-panel").is_displayed()
