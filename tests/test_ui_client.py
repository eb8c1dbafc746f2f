"""The page's API, called the way a script would: through gradio_client."""

from __future__ import annotations

import socket

import pytest

from assistant.service import Service
from indexer.build import build_index
from indexer.embed import FakeEmbedder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(mini_corpus, tmp_path):
    import ui

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    app = ui.build_app(Service(index_dir, embedder=FakeEmbedder()))
    port = free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_search_through_the_api(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    html = client.predict("发展党员", 3, [], [], api_name="/search")
    assert "1.严格发展党员" in html and "<mark>发展党员</mark>" in html
    filtered = client.predict("教育", 10, ["2024"], [], api_name="/search")
    assert "乙县" in filtered and "甲区教育局" not in filtered
    empty = client.predict("   ", 5, [], [], api_name="/search")
    assert "查询内容为空" in empty
