"""Who reads which library, on a server holding two (issue 33): a permissions matrix of users ×
routes, generated here and run against the served page and API — the page's actions through
gradio_client, the JSON API, the OpenAI-compatible endpoint and MCP over HTTP with each user's
login. A document's text, title or id never reaches someone who may not read its library."""

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
TEACHING_MARK, SAFETY_MARK = "甲区教育局", "丙区教育局"
# who: (password, libraries they read)
PEOPLE = {"zhang": ("zhang-pass-1", {"教学", "安全"}), "li": ("li-pass-1", {"教学"}),
          "wang": ("wang-pass-1", {"安全"}), "zhao": ("zhao-pass-1", set())}


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
    _library(root, "safety", SAFETY)
    registry = LibrariesFile(root / "libraries.json")
    registry.add("教学", "teaching/index", "teaching/corpus")
    registry.add("安全", "safety/index", "safety/corpus")
    registry.grant("教学", "li", "reader")
    registry.grant("安全", "group:安全办", "reader")
    users = UsersFile(root / "users.json")
    users.add("zhang", "admin", PEOPLE["zhang"][0])
    users.add("li", "reader", PEOPLE["li"][0])
    users.add("wang", "reader", PEOPLE["wang"][0], groups=["安全办"])
    users.add("zhao", "reader", PEOPLE["zhao"][0])
    shelf = Shelf.from_file(registry, model="fake")
    ids = {name: [d.doc_id for d in service.engine.documents()] for name, service in shelf.services.items()}
    app, url = launch(shelf.default, users=users, shelf=shelf)
    yield {"url": url, "ids": ids}
    app.close()


def _session(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    assert client.post("login", data={"username": name, "password": PEOPLE[name][0]}).status_code == 200
    return client


def _api_calls(http: httpx.Client, ids: dict[str, list[str]]) -> dict[str, str]:
    """Every API route that reaches a document, as this user: route → what came back."""
    t, s = ids["教学"][0], ids["安全"][0]
    calls = {
        "search": http.post("api/v1/search", json={"query": "教育 防溺水 发展党员", "k": 10}),
        "ask": http.post("api/v1/ask", json={"question": "防溺水教育有什么要求"}),
        "ask stream": http.post("api/v1/ask", json={"question": "发展党员有哪些要求", "stream": True}),
        "documents": http.get("api/v1/documents"),
        "document 教学": http.get(f"api/v1/documents/{t}"),
        "document 安全": http.get(f"api/v1/documents/{s}"),
        "section 安全": http.get(f"api/v1/documents/{s}/sections/1"),
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
    t, s = ids["教学"][0], ids["安全"][0]
    return {
        "page search": page.predict("教育 防溺水 发展党员", 10, [], [], [], api_name="/search"),
        "page ask": " ".join(page.predict("防溺水教育有什么要求", [], [], [], api_name="/ask")),
        "page documents": json.dumps(page.predict(api_name="/list_documents"), ensure_ascii=False),
        "page document 安全": page.predict(s, "", api_name="/show_document"),
        "page document 教学": page.predict(t, "", api_name="/show_document"),
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
    reads = PEOPLE[name][1]
    for library, mark in (("教学", TEACHING_MARK), ("安全", SAFETY_MARK)):
        hidden = library not in reads
        for route, text in seen.items():
            if hidden:
                assert mark not in text, f"{name} reached {library} through {route}: {text[:300]}"
                # a refusal may repeat the id the caller sent (找不到文档：<id>), never more
                assert "找不到" in text or not any(d in text for d in ids[library]), f"{name}: {route}: {text[:300]}"
    shown_to_readers = {"安全": (SAFETY_MARK, ["search", "ask", "documents", "document 安全", "section 安全", "openai",
                                              "mcp", "page search", "page ask", "page documents", "page document 安全"]),
                        "教学": (TEACHING_MARK, ["documents", "document 教学", "page documents", "page document 教学"])}
    for library in reads:  # what they may read does reach them, by each route
        mark, routes = shown_to_readers[library]
        for route in routes:
            assert mark in seen[route], f"{name} did not get {library} through {route}: {seen[route][:300]}"
    if not reads:
        assert "可以阅读的库" in seen["search"] and "可以阅读的库" in seen["page search"]



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
    finally:
        browser.quit()
