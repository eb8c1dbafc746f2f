"""The page's API, called the way a script would: through gradio_client, against the
app launched on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from assistant.office.service import Service
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .ui_process import ui_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(service: Service, auth: tuple[str, str] | None = None, users=None, idle_minutes: float | None = None,
           shelf=None, **kwargs):
    """The page as `python ui.py` serves it, on a free port of 127.0.0.1."""
    from webui.access import Access
    from webui.layout import build_app
    from webui.server import launch as serve_page
    from webui.server import use_page_files

    access = Access(users=users, admin=auth, audit=service.audit, idle_minutes=idle_minutes)
    use_page_files()  # as serve() does: before the page is built
    app = build_app(service, access, shelf)
    port = free_port()
    serve_page(app, "127.0.0.1", port, access=access, prevent_thread_lock=True, quiet=True, **kwargs)
    return app, f"http://127.0.0.1:{port}/"


def serve_corpus(corpus: Path, tmp_path: Path):
    """(app, url, service): the page over a fresh index of `corpus` with the fake model."""
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, corpus_dir=corpus, embedder=FakeEmbedder())
    app, url = launch(service)
    return app, url, service


def serve_office(corpus: Path, tmp_path: Path, **kwargs):
    """(app, url, service, users): the page with a users file holding an administrator
    (zhang / admin-pass) and a reader (li / reader-pass), over the fake model."""
    from assistant.office.accounts import UsersFile

    users = UsersFile(tmp_path / "users.json")
    users.add("zhang", "admin", "admin-pass")
    users.add("li", "reader", "reader-pass")
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, corpus_dir=corpus, embedder=FakeEmbedder())
    app, url = launch(service, users=users, **kwargs)
    return app, url, service, users


@pytest.fixture
def served(mini_corpus, tmp_path):
    app, url, _ = serve_corpus(mini_corpus, tmp_path)
    yield url, mini_corpus
    app.close()


@pytest.fixture
def client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


def test_ask(client):
    answer, passages = client.predict("发展党员", [], [], [], api_name="/ask")
    assert "回答（摘自文件原文）" in answer and "出处" in answer
    assert "甲区教育局2023年工作要点 · 2023 · 甲区 › 一、加强党的建设 › 1.严格发展党员" in answer
    assert 'id="passage-1"' in passages and "在原文中查看" in passages
    assert "<mark>发展党员</mark>" in passages


def test_ask_with_filters(client):
    _, passages = client.predict("教育", ["2024"], [], [], api_name="/ask")
    assert "乙县教育局2024年工作要点" in passages and "甲区教育局" not in passages
    _, passages = client.predict("教育", [], ["甲区"], [], api_name="/ask")
    assert "甲区教育局" in passages and "乙县" not in passages


def test_ask_without_content_words(client):
    answer, passages = client.predict("的了吗？", [], [], [], api_name="/ask")
    assert "没有可检索的内容" in answer


def test_search_endpoint(client):
    html = client.predict("发展党员", 3, [], [], api_name="/search")
    assert "1.严格发展党员" in html
    empty = client.predict("   ", 5, [], [], api_name="/search")
    assert "查询内容为空" in empty


def test_documents_and_sections(client):
    table = client.predict(api_name="/list_documents")
    rows = table["data"] if isinstance(table, dict) else table
    titles = {r[0] for r in rows}
    assert titles == {"甲区教育局2023年工作要点", "乙县教育局2024年工作要点"}
    doc_id = next(r[-1] for r in rows if r[0] == "乙县教育局2024年工作要点")
    html = client.predict(doc_id, "2.1", api_name="/show_document")
    assert 'id="pq-target"' in html and "加强教师培训" in html
    assert f"?doc={doc_id}&amp;section=1.2" in html  # every section linkable


def test_upload_find_and_remove(client, served, tmp_path):
    from gradio_client import handle_file

    url, corpus = served
    new = tmp_path / "upload" / "2025-丙区教育工作要点.txt"
    new.parent.mkdir()
    new.write_text("丙区教育局2025年工作要点\n一、推进课后服务\n1.做好课后托管。实现义务教育学校课后服务全覆盖，开设科技社团。\n",
                   encoding="utf-8")
    status, *_ = client.predict([handle_file(str(new))], api_name="/upload")
    assert "已加入索引：2025-丙区教育工作要点.txt" in status
    assert (corpus / "2025-丙区教育工作要点.txt").exists()
    _, passages = client.predict("课后托管科技社团", [], [], [], api_name="/ask")
    assert "丙区教育局2025年工作要点" in passages

    table = client.predict(api_name="/list_documents")
    rows = table["data"] if isinstance(table, dict) else table
    doc_id = next(r[-1] for r in rows if r[0] == "丙区教育局2025年工作要点")
    status, *_ = client.predict(doc_id, api_name="/remove")
    assert "已从索引移除" in status
    assert not (corpus / "2025-丙区教育工作要点.txt").exists()
    (kept,) = (corpus / ".removed").glob("2025-丙区教育工作要点.*.txt")  # nothing lost
    assert "课后托管" in kept.read_text(encoding="utf-8") and kept.name in status
    _, passages = client.predict("课后托管科技社团", [], [], [], api_name="/ask")
    assert "丙区教育局2025年工作要点" not in passages


def test_upload_refuses_bad_files(client, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "up"
    bad.mkdir()
    (bad / "脚本.txt").write_text("", encoding="utf-8")
    status, *_ = client.predict([handle_file(str(bad / "脚本.txt"))], api_name="/upload")
    assert "文件为空" in status


def test_document_text_is_shown_as_text(mini_corpus, tmp_path):
    from gradio_client import Client

    (mini_corpus / "恶意.txt").write_text(
        "丁区通知\n一、总则\n1.测试<script>alert(1)</script>和<img src=x onerror=alert(2)>以及[链接](javascript:alert(3))。\n",
        encoding="utf-8")
    index_dir = tmp_path / "index2"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder()))
    try:
        client = Client(url, verbose=False)
        _, passages = client.predict("测试链接", [], [], [], api_name="/ask")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in passages and "<script>" not in passages
        assert "<img" not in passages and "&lt;img" in passages
    finally:
        app.close()


def test_corpus_folder_cannot_be_escaped(tmp_path):
    from assistant.office.library import LibraryError, add_files, remove_source, safe_name

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    src = tmp_path / "x.txt"
    src.write_text("一份通知的内容", encoding="utf-8")
    (upload,) = add_files(corpus, [(src, "../../etc/passwd.txt")])
    assert upload.saved_as == "passwd.txt" and (corpus / "passwd.txt").exists()
    assert not (tmp_path / "etc").exists()
    for bad in ("..", ".hidden.txt", "/"):
        with pytest.raises(LibraryError):
            safe_name(bad)
    with pytest.raises(LibraryError):
        remove_source(corpus, "../x.txt")
    assert src.exists()
    shutil.rmtree(corpus)


def test_files_outside_are_not_served(served):
    import httpx

    url, corpus = served
    for path in ("/etc/passwd", str(corpus / "2023-甲区教育工作要点.txt"), "../../etc/passwd"):
        r = httpx.get(f"{url}gradio_api/file={path}")
        assert r.status_code in (403, 404), path
        assert "root:" not in r.text


def test_login_when_auth_is_set(mini_corpus, tmp_path):
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app, url = launch(Service(index_dir, embedder=FakeEmbedder()), auth=("admin", "s3cret"))
    try:
        assert httpx.get(f"{url}gradio_api/info").status_code in (401, 403)
        with pytest.raises(AuthenticationError):
            Client(url, verbose=False).predict("发展党员", [], [], [], api_name="/ask")
        client = Client(url, auth=("admin", "s3cret"), verbose=False)
        answer, _ = client.predict("发展党员", [], [], [], api_name="/ask")
        assert "出处" in answer
    finally:
        app.close()


def test_auth_option_format():
    from webui.access import parse_auth

    assert parse_auth("admin:pa:ss") == ("admin", "pa:ss")
    assert parse_auth(None) is None
    with pytest.raises(SystemExit):
        parse_auth("nopassword")


def test_precedents_tab(client, tmp_path):
    coverage, html, targets, first, second = client.predict("教育工作", [], [], api_name="/precedents")
    first, second = (x["value"] if isinstance(x, dict) else x for x in (first, second))  # dropdown updates
    assert "涉及该主题的文件" in coverage
    assert "pq-precedent" in html and "在原文中查看" in html
    rows = targets["data"] if isinstance(targets, dict) else targets
    assert isinstance(rows, list)
    compared = client.predict(first, second, api_name="/compare")
    assert "pq-compare" in compared and "文字相似度" in compared
    assert "找不到章节" in client.predict("nope#1", second, api_name="/compare")
    path, message = client.predict("教育工作", [], [], first, second, "docx", api_name="/export")
    assert path and path.endswith(".docx") and not message
    from docx import Document

    text = "\n".join(p.text for p in Document(path).paragraphs)
    assert "先例：教育工作" in text and "对比：" in text


def test_draft_check_tab(client):
    draft = "甲区教育局2025年工作要点\n一、加强党的建设\n1.严格发展党员。坚持标准，把骨干教师培养成党员。\n"
    html = client.predict(draft, None, api_name="/draft_check")
    assert "对照文件：甲区教育局2023年工作要点" in html
    assert "深化师德师风建设" in html  # in last year's plan, not in the draft
    assert "草稿为空" in client.predict("", None, api_name="/draft_check")
    path, message = client.predict(draft, None, "md", api_name="/export_draft")
    assert path.endswith(".md") and "草稿检查" in Path(path).read_text(encoding="utf-8")


def test_upload_a_word_file(client, served, tmp_path):
    from gradio_client import handle_file

    from .formats import write_docx

    path = write_docx(tmp_path / "丁区教育工作要点.docx",
                      [(None, "", "丁区教育局2025年工作要点"), (0, "", "推进集团化办学"),
                       (1, "", "组建教育集团。新组建紧密型教育集团4个，覆盖全部乡村学校。")])
    status, *_ = client.predict([handle_file(str(path))], api_name="/upload")
    assert "已加入索引：丁区教育工作要点.docx" in status
    _, passages = client.predict("紧密型教育集团", [], [], [], api_name="/ask")
    assert "一、推进集团化办学 › 1.组建教育集团" in passages  # numbering recovered from Word's list


@pytest.mark.model
def test_ui_py_as_a_program_serves_the_real_index(real_index):
    """`python ui.py`: the index and models load while Gradio imports; the page then answers."""
    from gradio_client import Client

    with ui_process("--index", str(real_index)) as url:
        html = Client(url, verbose=False).predict("发展党员有哪些要求", 5, [], [], api_name="/search")
        assert "发展党员" in html and "工作要点" in html


def test_standing_series_and_changes_on_the_page(mini_corpus, tmp_path):
    """Issue 31 on the page: 只看现行有效 leaves out a repealed document, whose citation says so;
    a plan's series shows in 先例 and in the document, and 文档 lists what changed between two years."""
    from gradio_client import Client

    (mini_corpus / "2024-甲区教育工作要点.txt").write_text(
        "甲区教育局2024年工作要点\n\n一、加强党的建设\n1.严格发展党员。坚持标准，把骨干教师培养成党员，严把党员入口关。\n"
        "二、办好民生实事\n2.增加学位供给。新建学校5所，增加学位3000个。\n3.推进课后服务。课后服务覆盖全部义务教育学校。\n",
        encoding="utf-8")
    (mini_corpus / "甲区学籍管理暂行办法.txt").write_text(
        "甲区中小学学籍管理暂行办法\n\n第一条 学生转学须持转出学校证明办理学籍转接手续。\n", encoding="utf-8")
    (mini_corpus / "甲区学籍管理办法.txt").write_text(
        "甲区中小学学籍管理办法\n\n第一条 学生转学由转入学校在系统中发起学籍转接手续。\n"
        "第二条 本办法自2024年3月1日起施行，《甲区中小学学籍管理暂行办法》同时废止。\n", encoding="utf-8")
    app, url, _ = serve_corpus(mini_corpus, tmp_path)
    try:
        client = Client(url, verbose=False)
        rows = client.predict(api_name="/list_documents")
        rows = rows["data"] if isinstance(rows, dict) else rows
        ids = {r[0]: r[-1] for r in rows}
        everything = client.predict("学籍转接手续", 5, [], [], [], False, api_name="/search")
        assert "已被《甲区中小学学籍管理办法》废止" in everything
        current = client.predict("学籍转接手续", 5, [], [], [], True, api_name="/search")
        assert "已被" not in current and "学籍管理暂行办法 ·" not in current and "只看现行有效" in current
        assert "学籍管理暂行办法 ·" in everything and "甲区中小学学籍管理办法 ·" in current

        coverage, html, *_ = client.predict("学位供给", [], [], False, api_name="/precedents")
        assert "同一系列" in html and "2023" in html and "2024" in html
        view = client.predict(ids["甲区教育局2024年工作要点"], "", api_name="/show_document")
        assert "同一系列" in view
        changes = client.predict(ids["甲区教育局2023年工作要点"], ids["甲区教育局2024年工作要点"], api_name="/changes")
        assert "【新增】" in changes and "推进课后服务" in changes and "【删除】" in changes
        assert "pq-del" in changes and "5所" in changes  # the changed target, marked
        path, _ = client.predict(ids["甲区教育局2023年工作要点"], ids["甲区教育局2024年工作要点"], "md",
                                 api_name="/export_changes")
        assert "变化：" in Path(path).read_text(encoding="utf-8")
        assert "请选择两份文件" in client.predict("", "", api_name="/changes")
    finally:
        app.close()
