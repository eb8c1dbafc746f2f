"""The programmable surface (issue 32) against a real server process (`policyqa serve`) on a copy
of the real index, with a users file and keys made by `policyqa key`: the JSON API with each role
and each error, streaming, parity with `policyqa ask --json`, the OpenAI SDK, MCP over HTTP and
stdio with the SDK's own client, and the widget in headless Chromium inside a host page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import HTTPServer, SimpleHTTPRequestHandler

import httpx
import pytest

from .conftest import CORPUS
from .ui_process import ROOT, free_port

pytestmark = pytest.mark.model
QUESTION = "发展党员有哪些要求"


def policyqa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "webui.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)


@pytest.fixture(scope="module")
def office(real_index, tmp_path_factory):
    """A served copy of the real index and its corpus, a users file (zhang: admin, li: reader)
    and keys: admin, reader, ask-only, revoked, and one allowed 2 calls a minute."""
    base = tmp_path_factory.mktemp("api")
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(real_index, index)
    users = base / "users.json"
    for name, role in (("zhang", "admin"), ("li", "reader")):
        assert policyqa("user", "add", name, "--role", role, "--password", f"{name}-pass-1", "--users",
                        str(users)).returncode == 0
    keys = {}
    for label, user, extra in (("admin", "zhang", []), ("reader", "li", []), ("ask", "li", ["--scope", "ask"]),
                               ("revoked", "li", []), ("slow", "li", ["--per-minute", "2"])):
        made = policyqa("key", "create", f"测试-{label}", "--user", user, "--users", str(users), *extra)
        assert made.returncode == 0, made.stderr
        keys[label] = made.stdout.strip()
        assert keys[label].startswith("pqa-") and "只显示这一次" in made.stderr
    assert policyqa("key", "revoke", "测试-revoked", "--users", str(users)).returncode == 0
    listed = policyqa("key", "list", "--users", str(users), "--json").stdout
    assert all(keys[k] not in listed for k in keys) and "hash" not in listed  # never the key itself
    port = free_port()
    log = open(base / "server.log", "w")  # noqa: SIM115 - the server's output for the whole module
    proc = subprocess.Popen([sys.executable, "-m", "webui.cli", "serve", "--index", str(index), "--corpus", str(corpus),
                             "--users", str(users), "--port", str(port)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (base / "server.log").read_text()
        time.sleep(0.3)
    # warm: the first question loads the models
    httpx.post(url + "/api/v1/search", json={"query": "党建"}, headers=_auth(keys["admin"]), timeout=300)
    yield {"url": url, "keys": keys, "index": index, "corpus": corpus, "users": users}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    assert "Traceback" not in (base / "server.log").read_text()


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]["message"]


def _documents(office) -> list[dict]:
    r = httpx.get(office["url"] + "/api/v1/documents", headers=_auth(office["keys"]["admin"]), timeout=60)
    return r.json()["documents"]


def test_the_api_describes_itself(office):
    spec = httpx.get(office["url"] + "/api/v1/openapi.json").json()
    for path in ("/search", "/ask", "/documents", "/documents/{doc_id}", "/documents/{doc_id}/sections/{key}",
                 "/precedents", "/compare", "/changes", "/draft-check", "/feedback", "/admin/upload",
                 "/admin/documents/{doc_id}", "/admin/restore", "/admin/rebuild", "/admin/audit", "/admin/not-found",
                 "/admin/build", "/admin/build/cancel"):
        assert path in spec["paths"], path
    assert "swagger" in httpx.get(office["url"] + "/api/v1/docs").text.lower()


def test_every_error_is_json_in_chinese_and_changes_nothing(office):
    url, keys = office["url"], office["keys"]
    before = _documents(office)
    assert "API 密钥" in _error(httpx.post(url + "/api/v1/search", json={"query": "党建"}), 401)
    assert "无效" in _error(httpx.post(url + "/api/v1/search", json={"query": "党建"},
                                      headers=_auth("pqa-k000-nope")), 401)
    assert "已于" in _error(httpx.post(url + "/api/v1/search", json={"query": "党建"},
                                      headers=_auth(keys["revoked"])), 401)
    assert "管理员" in _error(httpx.post(url + "/api/v1/admin/rebuild", headers=_auth(keys["reader"])), 403)
    doc_id = before[0]["doc_id"]
    assert "管理员" in _error(httpx.delete(f"{url}/api/v1/admin/documents/{doc_id}?confirm=true",
                                          headers=_auth(keys["reader"])), 403)
    assert "只能用于提问" in _error(httpx.get(url + "/api/v1/documents", headers=_auth(keys["ask"])), 403)
    assert "请求格式" in _error(httpx.post(url + "/api/v1/search", content=b"{not json",
                                         headers={**_auth(keys["reader"]), "Content-Type": "application/json"}), 400)
    assert "请求格式" in _error(httpx.post(url + "/api/v1/search", json={"k": 3}, headers=_auth(keys["reader"])), 400)
    assert "超过" in _error(httpx.post(url + "/api/v1/draft-check", json={"text": "党" * 600_000},
                                     headers=_auth(keys["reader"])), 413)
    assert "没有这个接口" in _error(httpx.get(url + "/api/v1/nothing-here", headers=_auth(keys["reader"])), 404)
    assert "找不到文档" in _error(httpx.get(url + "/api/v1/documents/nope", headers=_auth(keys["reader"])), 404)
    assert "confirm=true" in _error(httpx.delete(f"{url}/api/v1/admin/documents/{doc_id}",
                                                headers=_auth(keys["admin"])), 409)
    assert _documents(office) == before


def test_a_key_is_rate_limited_with_retry_after(office):
    url, key = office["url"], office["keys"]["slow"]
    for _ in range(2):
        assert httpx.post(url + "/api/v1/search", json={"query": "党建"}, headers=_auth(key), timeout=60).status_code == 200
    r = httpx.post(url + "/api/v1/search", json={"query": "党建"}, headers=_auth(key), timeout=60)
    assert "过于频繁" in _error(r, 429) and int(r.headers["Retry-After"]) >= 1


def test_searches_at_once_get_what_each_gets_alone(office):
    """A search alone runs on the event loop, searches at once in worker threads: the same records."""
    url, auth = office["url"], _auth(office["keys"]["reader"])
    queries = ["党建", "近视防控", "课后服务", "发展党员", "教师培训", "安全教育"]
    alone = {}
    for q in queries:
        r = httpx.post(url + "/api/v1/search", json={"query": q, "k": 3}, headers=auth, timeout=120)
        assert r.status_code == 200 and r.headers["Server-Timing"].startswith("app;dur=")
        alone[q] = r.json()
    together: dict[str, list] = {q: [] for q in queries}

    def client(q: str) -> None:
        with httpx.Client(base_url=url, headers=auth, timeout=120) as http:
            together[q] = [http.post("/api/v1/search", json={"query": q, "k": 3}).json() for _ in range(3)]

    threads = [threading.Thread(target=client, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q in queries:
        assert together[q] == [alone[q]] * 3, q


def test_ask_is_the_same_record_as_the_cli(office, real_index):
    r = httpx.post(office["url"] + "/api/v1/ask", json={"question": QUESTION}, headers=_auth(office["keys"]["reader"]),
                   timeout=120)
    assert r.status_code == 200
    cli = policyqa("ask", QUESTION, "--index", str(real_index), "--json")
    assert cli.returncode == 0, cli.stderr
    assert r.json() == json.loads(cli.stdout)
    record = r.json()
    assert record["status"] == "ok" and record["points"] and record["passages"][0]["citation"]
    assert record["passages"][0]["link"].startswith("/?doc=")
    follow = httpx.post(office["url"] + "/api/v1/ask", json={"question": "那2024年呢", "follow_up_of": QUESTION},
                        headers=_auth(office["keys"]["reader"]), timeout=120).json()
    assert "2024" in follow["question"] and follow["passages"][0]["year"] == 2024


def test_ask_streams_server_sent_events(office):
    events = []
    with httpx.stream("POST", office["url"] + "/api/v1/ask", json={"question": QUESTION, "stream": True},
                      headers=_auth(office["keys"]["ask"]), timeout=120) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    names = [n for n, _ in events]
    assert names[0] == "delta" and names[-2:] == ["answer", "done"]
    whole = dict(events)["answer"]
    assert "".join(d["text"] for n, d in events if n == "delta").count("[") >= len(whole["points"])


def test_documents_sections_and_drafting_tools(office):
    url, auth = office["url"], _auth(office["keys"]["reader"])
    docs = _documents(office)
    plan = next(d for d in docs if d["title"] == "2023年武进教育工作要点")
    tree = httpx.get(f"{url}/api/v1/documents/{plan['doc_id']}", headers=auth).json()
    parent = next(s for s in tree["sections"] if s["children"])
    assert tree["title"] == plan["title"] and parent["heading"].startswith("一、")
    leaf = parent["children"][0]
    key = leaf["key"]
    section = httpx.get(f"{url}/api/v1/documents/{plan['doc_id']}/sections/{key}", headers=auth).json()
    assert section["text"] and section["path"] == leaf["path"] and plan["title"] in section["citation"]
    later = next(d for d in docs if d["title"] == "2024年武进教育党建工作要点")
    changes = httpx.post(url + "/api/v1/changes", json={"first": plan["doc_id"], "second": later["doc_id"]},
                         headers=auth, timeout=60).json()
    assert changes["counts"]["新增"] > 0
    ps = httpx.post(url + "/api/v1/precedents", json={"topic": "党建品牌创建"}, headers=auth, timeout=120).json()
    assert ps["precedents"]
    first, second = (p["section"]["section_id"] for p in ps["precedents"][:2])
    compared = httpx.post(url + "/api/v1/compare", json={"first": first, "second": second}, headers=auth).json()
    assert 0 <= compared["similarity"] <= 1
    draft = httpx.post(url + "/api/v1/draft-check", json={"text": "2025年武进教育工作要点\n一、加强党的建设\n1.严格发展党员。"},
                       headers=auth, timeout=120).json()
    assert draft["items"]
    assert httpx.post(url + "/api/v1/feedback", json={"question": QUESTION, "useful": False, "comment": "不够具体"},
                      headers=auth).json() == {"recorded": True}


def test_an_administrator_uploads_removes_restores_and_reads_the_audit(office, tmp_path):
    url, auth = office["url"], _auth(office["keys"]["admin"])
    note = tmp_path / "丙区教育工作要点.txt"
    note.write_text("丙区教育局2025年工作要点\n\n一、推进集团化办学\n1.组建教育集团。新组建紧密型教育集团4个。\n", encoding="utf-8")
    with open(note, "rb") as f:
        up = httpx.post(url + "/api/v1/admin/upload", files={"files": (note.name, f, "text/plain")}, headers=auth,
                        timeout=300).json()
    assert up["files"][0]["action"] == "added" and up["index"]["documents"] == len(_documents(office))
    doc = next(d for d in _documents(office) if d["source"] == note.name)
    gone = httpx.delete(f"{url}/api/v1/admin/documents/{doc['doc_id']}?confirm=true", headers=auth, timeout=300).json()
    assert gone["removed"] == note.name and note.name not in {d["source"] for d in _documents(office)}
    removed = httpx.get(url + "/api/v1/admin/removed", headers=auth).json()["removed"]
    back = httpx.post(url + "/api/v1/admin/restore", json={"stored": removed[-1]["stored"]}, headers=auth,
                      timeout=300).json()
    assert back["restored"] == note.name
    assert httpx.post(url + "/api/v1/admin/rebuild", headers=auth, timeout=300).json()["index"]["up_to_date"]
    build = httpx.get(url + "/api/v1/admin/build", headers=auth).json()["build"]
    assert build["what"] == "重新建立索引" and build["outcome"] == "done" and build["user"] == "zhang"
    assert not build["running"] and build["seconds"] >= 0  # already up to date: no stage to show
    assert "没有正在进行" in _error(httpx.post(url + "/api/v1/admin/build/cancel", headers=auth), 409)
    assert "管理员" in _error(httpx.get(url + "/api/v1/admin/build", headers=_auth(office["keys"]["reader"])), 403)
    httpx.post(url + "/api/v1/search", json={"query": "集团化办学"}, headers=_auth(office["keys"]["reader"]), timeout=60)
    entries = httpx.get(url + "/api/v1/admin/audit", headers=auth).json()["entries"]
    actions = {(e.get("action"), e.get("key")) for e in entries}
    assert {("upload", "测试-admin"), ("remove", "测试-admin"), ("restore", "测试-admin")} <= actions
    assert any(e.get("action") == "api_call" and e.get("key") == "测试-reader" for e in entries)
    assert "not_found" not in httpx.get(url + "/api/v1/admin/not-found", headers=auth).text.split('"questions"')[0]


def test_a_page_login_opens_the_api_too(office):
    with httpx.Client(base_url=office["url"]) as browser:
        assert browser.post("/login", data={"username": "li", "password": "li-pass-1"}).status_code == 200
        assert browser.get("/api/v1/documents").status_code == 200
        assert browser.post("/api/v1/admin/rebuild").status_code == 403


def test_the_openai_sdk_uses_a_library_as_a_model(office):
    from openai import OpenAI

    client = OpenAI(base_url=office["url"] + "/v1", api_key=office["keys"]["ask"])
    model = client.models.list().data[0].id
    assert model.startswith("policyqa-")
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": QUESTION}])
    text = reply.choices[0].message.content
    record = httpx.post(office["url"] + "/api/v1/ask", json={"question": QUESTION},
                        headers=_auth(office["keys"]["reader"]), timeout=120).json()
    assert all(p["text"] in text for p in record["points"]) and "出处：" in text and "[1]" in text
    cited = reply.model_extra["citations"]
    assert cited and all(c["citation"] in text for c in cited)
    streamed = client.chat.completions.create(model=model, stream=True, messages=[
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": text},
        {"role": "user", "content": "那2024年呢"}])
    pieces, last = [], None
    for chunk in streamed:
        pieces.append(chunk.choices[0].delta.content or "")
        last = chunk
    assert "2024" in "".join(pieces) and last.model_extra["citations"]


def test_mcp_over_http_and_stdio_with_the_sdk_client(office, real_index):
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client

    async def exercise(client) -> None:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"search", "ask", "get_document", "get_section", "list_documents", "precedents"} <= names
        found = (await client.call_tool("search", {"query": "发展党员", "k": 3})).structured_content
        assert found["results"][0]["citation"]
        answer = (await client.call_tool("ask", {"question": QUESTION})).structured_content
        assert answer["status"] == "ok" and answer["points"]
        docs = (await client.call_tool("list_documents", {})).structured_content["documents"]
        doc = (await client.call_tool("get_document", {"doc_id": docs[0]["doc_id"]})).structured_content
        key = doc["sections"][0]["key"]
        section = (await client.call_tool("get_section", {"section_id": f"{doc['doc_id']}#{key}"})).structured_content
        assert section["citation"].startswith(doc["title"])
        missing = await client.call_tool("get_document", {"doc_id": "nope"})
        assert missing.is_error and "找不到文档" in missing.content[0].text

    async def over_http() -> None:
        async with httpx2.AsyncClient(headers=_auth(office["keys"]["reader"]), timeout=120) as http, \
                Client(streamable_http_client(office["url"] + "/mcp", http_client=http)) as client:
            await exercise(client)

    async def over_stdio() -> None:
        params = StdioServerParameters(command=sys.executable, args=["-m", "webui.cli", "mcp", "--index", str(real_index)],
                                       cwd=str(ROOT), env={**os.environ, "HF_HUB_OFFLINE": "1"})
        async with Client(params, read_timeout_seconds=120) as client:
            await exercise(client)

    anyio.run(over_http)
    anyio.run(over_stdio)
    refused = httpx.post(office["url"] + "/mcp", json={}, headers={"Accept": "application/json"})
    assert refused.status_code == 401 and "API 密钥" in refused.json()["error"]["message"]


def test_the_widget_answers_inside_a_host_page(office, tmp_path):
    from selenium.webdriver.common.by import By

    from .test_browser import _wait, start_chrome

    (tmp_path / "portal.html").write_text(
        f'<html><body><h1>某某教育局 OA</h1><script src="{office["url"]}/widget.js" data-key="{office["keys"]["ask"]}" '
        'data-title="政策问答"></script></body></html>', encoding="utf-8")
    handler = lambda *a, **k: SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    host = HTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    driver = start_chrome()
    try:
        driver.get(f"http://127.0.0.1:{host.server_port}/portal.html")
        frame = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "iframe.policyqa-widget"))
        driver.switch_to.frame(frame)
        _wait(driver, lambda d: d.find_element(By.ID, "pq-w-q")).send_keys(QUESTION)
        driver.find_element(By.ID, "pq-w-ask").click()
        _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#pq-w-out .src a"))
        out = driver.find_element(By.ID, "pq-w-out")
        assert "[1]" in out.text and "工作要点" in out.text
        link = out.find_element(By.CSS_SELECTOR, ".src a").get_attribute("href")
        assert link.startswith(office["url"] + "/?doc=")
    finally:
        driver.quit()
        host.shutdown()


def test_the_api_docs_examples_run_against_the_server(office):
    """Every Python and curl example of docs/api.md, with the running server's address and a key."""
    from .test_docs import blocks

    def filled(code: str) -> str:
        return code.replace("http://127.0.0.1:7860", office["url"]).replace("pqa-你的密钥", office["keys"]["reader"])

    examples = [code for path, code in blocks("python") if path.name == "api.md" and "gradio_client" not in code]
    assert len(examples) == 3
    for code in examples:
        scope: dict = {}
        exec(compile(filled(code), "docs/api.md", "exec"), scope)  # noqa: S102
    curls = [line for _, code in blocks("bash") for line in code.splitlines() if line.startswith("curl ")]
    assert len(curls) == 2
    for line in curls:
        out = subprocess.run(filled(line), shell=True, capture_output=True, text=True, timeout=120)  # noqa: S602
        assert out.returncode == 0 and "error" not in out.stdout[:20] and "citation" in out.stdout


def test_keys_are_made_and_revoked_in_the_admin_tab(office):
    """The 管理 tab's keys, through gradio_client as the administrator: a key shown once that works
    at once, then revoked and refused; a reader is refused the tab's actions."""
    from gradio_client import Client

    admin = Client(office["url"] + "/", auth=("zhang", "zhang-pass-1"), verbose=False)
    shown, table = admin.predict("页面建立", "li", True, 5, api_name="/create_key")
    key = next(w for w in shown.replace("<", " ").replace(">", " ").split() if w.startswith("pqa-"))
    rows = table["data"] if isinstance(table, dict) else table
    assert any(r[1] == "页面建立" and r[3] == "只能提问" for r in rows) and key not in str(rows)
    r = httpx.post(office["url"] + "/api/v1/search", json={"query": "党建"}, headers=_auth(key), timeout=60)
    assert r.status_code == 200
    admin.predict("页面建立", api_name="/revoke_key")
    assert _error(httpx.post(office["url"] + "/api/v1/search", json={"query": "党建"}, headers=_auth(key)), 401)
    reader = Client(office["url"] + "/", auth=("li", "li-pass-1"), verbose=False)
    refused, _ = reader.predict("读者的", "li", False, 60, api_name="/create_key")
    assert "管理员" in refused
