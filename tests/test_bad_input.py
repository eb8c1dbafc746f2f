"""Bad input tried on purpose: odd queries on the command line and on the page, uploads
over the limits or aimed outside the corpus, requests without a login, the bind address."""

from __future__ import annotations

import pytest

from assistant.cli.commands import main
from assistant.office.service import Service
from assistant.search.inputs import MAX_QUERY_CHARS
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .test_ui_client import launch

QUERIES = {
    "empty": "",
    "spaces only": "   \u3000 \t ",
    "10 000 characters": "发展党员工作要求" * 1250,
    "punctuation only": "？！。，、……——“”《》",
    "emoji only": "😀🎉👍🏻",
    "English only": "How are new party members recruited?",
    "SQL-like": "'; DROP TABLE chunks; -- 发展党员",
    "HTML and JS": "<script>alert(1)</script><img src=x onerror=alert(2)>发展党员",
    "control characters": "发展\x00党员\x07要求\x1b[31m\u202e",
    "traditional and simplified": "發展黨員有哪些要求 师德师风",
    "a javascript: link": "[点我](javascript:alert(1)) 近视防控",
}
# What each gives: results, or a clear message (never a traceback).
MESSAGE = {"empty": "查询内容为空", "spaces only": "查询内容为空", "punctuation only": "没有文字或数字",
           "emoji only": "没有文字或数字"}


@pytest.fixture
def index_dir(mini_corpus, tmp_path, fake_model):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    return index_dir


@pytest.mark.parametrize("name", list(QUERIES))
def test_odd_queries_on_the_command_line(index_dir, capsys, name):
    query = QUERIES[name]
    code = main(["search", query, "--index", str(index_dir), "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "内部错误" not in err
    if name in MESSAGE:
        assert code == 1 and MESSAGE[name] in err
    else:
        assert code == 0 and '"results"' in out
    if name == "10 000 characters":
        assert f"只按前 {MAX_QUERY_CHARS} 字检索" in err
    code = main(["ask", query, "--index", str(index_dir)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "内部错误" not in err
    assert code in (0, 1) and (out.strip() or err.strip())


def test_queries_that_mean_something_still_find_it(index_dir, capsys):
    for name in ("SQL-like", "HTML and JS", "control characters", "traditional and simplified", "10 000 characters"):
        assert main(["search", QUERIES[name], "--index", str(index_dir), "-k", "1"]) == 0
        out = capsys.readouterr().out
        assert "发展党员" in out or "师德师风" in out, name


@pytest.fixture
def page(mini_corpus, tmp_path):
    from gradio_client import Client

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder()))
    yield Client(url, verbose=False), url, mini_corpus
    app.close()


def test_odd_queries_on_the_page(page):
    client, _, _ = page
    for name, query in QUERIES.items():
        answer, passages = client.predict(query, [], [], [], api_name="/ask")
        cards = client.predict(query, 5, [], [], api_name="/search")
        for html in (answer, passages, cards):
            assert "Traceback" not in html and "内部错误" not in html, name
            assert "<script>" not in html and "<img" not in html and 'href="javascript' not in html, name
        assert answer or passages, name
        if name in MESSAGE:
            assert MESSAGE[name] in cards, name
    for k in ("not a number", 10**9, -3):  # clamped to 1–50 (a non-number: the default 5), never an error
        cards = client.predict("发展党员", k, [], [], api_name="/search")
        assert "pq-card" in cards and "Traceback" not in cards
        count = cards.count('class="pq-card"')
        assert count > 5 if k == 10**9 else count == {"not a number": 5, -3: 1}[k], (k, count)


def test_uploads_over_the_size_limit_are_refused(mini_corpus, tmp_path, monkeypatch):
    from gradio_client import Client, handle_file

    from assistant.office import library
    from webui import layout, server

    monkeypatch.setattr(server, "MAX_UPLOAD_BYTES", 1024 * 1024)
    monkeypatch.setattr(layout, "MAX_UPLOAD_BYTES", 1024 * 1024)
    monkeypatch.setattr(library, "MAX_UPLOAD_BYTES", 1024 * 1024)
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder()))
    try:
        big = tmp_path / "大文件.txt"
        big.write_text("一、总则\n1.正文。" * 200_000, encoding="utf-8")
        client = Client(url, verbose=False)
        with pytest.raises(Exception, match="(?i)size|large|413"):
            client.predict([handle_file(str(big))], api_name="/upload")
        assert not (mini_corpus / "大文件.txt").exists()
        exe = tmp_path / "工具.exe"
        exe.write_bytes(b"MZ" + b"\0" * 100)
        with pytest.raises(Exception, match="Invalid file type"):  # the page's file picker refuses it
            client.predict([handle_file(str(exe))], api_name="/upload")
        assert not (mini_corpus / "工具.exe").exists()
    finally:
        app.close()
    src = tmp_path / "中.txt"  # and the library checks again, for any other caller
    src.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(library.LibraryError, match="文件过大"):
        library.check_upload(src, "中.txt")
    with pytest.raises(library.LibraryError, match="不支持的文件类型"):
        library.check_upload(exe, "工具.exe")


def test_upload_cannot_name_a_file_outside_the_upload_folder(page, tmp_path):
    """An API caller naming a server path (not an uploaded file) gets nothing read or written."""
    import httpx

    _, url, corpus = page
    secret = tmp_path / "secret.txt"
    secret.write_text("机密内容", encoding="utf-8")
    for path in ("/etc/passwd", str(secret), "../../etc/passwd"):
        payload = {"data": [[{"path": path, "orig_name": "passwd.txt", "meta": {"_type": "gradio.FileData"}}]]}
        r = httpx.post(f"{url}gradio_api/call/upload", json=payload, timeout=30)
        if r.status_code == 200:
            event = r.json()["event_id"]
            body = httpx.get(f"{url}gradio_api/call/upload/{event}", timeout=30).text
            assert "已加入索引" not in body
        assert not (corpus / "passwd.txt").exists() and not (corpus / "secret.txt").exists()
    assert sorted(p.name for p in corpus.iterdir()) == ["2023-甲区教育工作要点.txt", "2024-乙县教育工作要点.txt"]


from starlette.routing import Mount  # noqa: E402

from webui.api import PUBLIC  # noqa: E402


def _every_route(app):
    """(method, path) of every route the running app serves, path parameters filled with 'x'."""
    import re

    def walk(routes, prefix=""):
        for route in routes:
            inner = getattr(route, "app", None)
            while inner is not None and not hasattr(inner, "routes") and hasattr(inner, "app"):
                inner = inner.app  # a mounted app behind its guard (webui/api)
            if isinstance(route, Mount):
                yield from walk(getattr(inner, "routes", []), prefix + route.path)
            elif hasattr(route, "path"):
                yield prefix, route
            else:
                inner = getattr(route, "original_router", None) or inner
                yield from walk(getattr(inner, "routes", []), prefix)

    for prefix, route in walk(app.server_app.routes):
        for method in sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD"}):
            yield method, prefix + re.sub(r"\{[^}]+\}", "x", route.path)


def test_every_route_needs_a_login_when_auth_is_set(mini_corpus, tmp_path):
    import httpx

    from webui.access import LoginGate

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, embedder=FakeEmbedder()), auth=("admin", "s3cret"))
    base = url.rstrip("/")
    try:
        anonymous = httpx.Client(timeout=10)
        routes = list(_every_route(app))
        assert len(routes) > 50 and ("POST", "/gradio_api/upload") in routes
        assert ("POST", "/api/v1/ask") in routes and ("POST", "/v1/chat/completions") in routes
        for method, path in routes:
            r = anonymous.request(method, base + path)
            shell = path in LoginGate.SHELL or path.startswith(LoginGate.SHELL_PREFIXES) or path in PUBLIC
            assert r.status_code in (401, 403) or (shell and r.status_code < 500), (method, path, r.status_code)
            assert not any(secret in r.text for secret in ("甲区", "\\u7532\\u533a", "发展党员")), (method, path)
        for path in ("/gradio_api/file=/etc/passwd", "/gradio_api/file=" + str(index_dir / "manifest.json"),
                     "/gradio_api/queue/data?session_hash=x", "/gradio_api/heartbeat/x"):
            r = anonymous.get(base + path)
            assert r.status_code == 401 and "root:" not in r.text, path
        r = anonymous.post(base + "/gradio_api/call/ask", json={"data": ["发展党员", [], [], [], "", False]})
        assert r.status_code in (401, 403)
        r = anonymous.post(base + "/gradio_api/upload", files={"files": ("x.txt", b"abc")})
        assert r.status_code in (401, 403)
        r = anonymous.post(base + "/login", data={"username": "admin", "password": "wrong"})
        assert r.status_code in (400, 401, 403)

        logged_in = httpx.Client(timeout=30)
        assert logged_in.post(base + "/login", data={"username": "admin", "password": "s3cret"}).status_code == 200
        assert logged_in.get(base + "/gradio_api/info").status_code == 200
        assert "甲区" in logged_in.get(base + "/config").text
        event = logged_in.post(base + "/gradio_api/call/ask", json={"data": ["发展党员", [], [], [], "", False]}).json()
        assert "pq-answer" in logged_in.get(f"{base}/gradio_api/call/ask/{event['event_id']}").text
    finally:
        app.close()


def test_the_page_listens_on_this_machine_only_by_default(monkeypatch):
    import ui
    from webui import server

    seen = {}
    monkeypatch.setattr(server, "serve", lambda options, service=None: seen.update(host=options.host, port=options.port))
    monkeypatch.delenv("POLICYQA_HOST", raising=False)
    monkeypatch.delenv("POLICYQA_PORT", raising=False)
    ui.main(["--index", "nowhere"])
    assert seen == {"host": "127.0.0.1", "port": 7860}
    from webui.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and not args.share
