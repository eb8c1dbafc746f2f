"""The page under load: twenty gradio_client users at once, and a rebuild while it serves.
Short and bounded here; bench/soak.py runs the long version and prints the figures."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from assistant.office.service import Service
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .conftest import DEV, DEV_COLLOQUIAL

USERS = 20


def serve(service: Service):
    from .test_ui_client import launch

    return launch(service)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


@pytest.mark.model
def test_twenty_users_at_once(real_index, record_property):
    """Every user asks and searches different questions for a bounded time; nothing fails."""
    from gradio_client import Client

    questions = [json.loads(line)["question"] for p in (DEV, DEV_COLLOQUIAL)
                 for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    app, url = serve(Service(real_index))
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 20

    def user(n: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as e:
            with lock:
                failures.append(f"user {n} connect: {e!r}")
            return
        i = n
        while True:  # at least two requests each, then until the deadline
            q = questions[i % len(questions)]
            t0 = time.monotonic()
            try:
                if i % 2:
                    html = client.predict(q, 5, [], [], api_name="/search")
                    ok = "pq-card" in html
                else:
                    answer, cards = client.predict(q, [], [], [], api_name="/ask")
                    ok = "出处" in answer or "没有找到" in answer
            except Exception as e:
                ok, html = False, repr(e)
            with lock:
                latencies.append(time.monotonic() - t0)
                if not ok:
                    failures.append(f"user {n}: {q}")
            i += USERS
            if i >= n + 2 * USERS and time.monotonic() > deadline:
                return

    try:
        threads = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert not any(t.is_alive() for t in threads), "a user was still waiting after 3 minutes"
    finally:
        app.close()
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    record_property("requests", len(latencies))
    record_property("p50_s", round(p50, 3))
    record_property("p95_s", round(p95, 3))
    print(f"\n{USERS} users: {len(latencies)} requests, {len(failures)} failed, p50 {p50:.2f} s, p95 {p95:.2f} s")
    assert not failures, failures[:5]
    assert len(latencies) >= 2 * USERS


class SlowEmbedder(FakeEmbedder):
    """The fake embedder, slowed so a rebuild takes seconds and searches overlap it."""

    def encode(self, texts, batch_size=8, progress=False):
        if len(texts) > 1:
            time.sleep(1.5 + 0.25 * len(texts))
        return super().encode(texts, batch_size, progress)


def test_rebuild_while_serving(mini_corpus, tmp_path):
    """Searches during a rebuild are answered from the old index, then from the new one."""
    from gradio_client import Client

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, corpus_dir=mini_corpus, embedder=SlowEmbedder())
    app, url = serve(service)
    client = Client(url, verbose=False)
    seen: list[tuple[float, bool]] = []  # (time, the new document found)
    errors: list[str] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                html = client.predict("丙镇农村学校营养午餐", 10, [], [], api_name="/search")
                if "pq-card" not in html:
                    errors.append(html[:200])
                seen.append((time.monotonic(), "丙镇教育办" in html))
            except Exception as e:
                errors.append(repr(e))

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        time.sleep(1.0)
        shutil.copy(mini_corpus / "2023-甲区教育工作要点.txt", tmp_path / "keep.txt")
        (mini_corpus / "2025-丙镇教育工作要点.txt").write_text(
            "丙镇教育办2025年工作要点\n一、办好民生实事\n1.推进农村学校营养午餐。覆盖全部农村学校，每生每天补助5元。\n"
            "2.改善乡村学校办学条件。新建塑胶跑道3条。\n", encoding="utf-8")
        started = time.monotonic()
        report = service.reindex()
        finished = time.monotonic()
        assert report.added == ["2025-丙镇教育工作要点.txt"]
        time.sleep(1.5)
    finally:
        stop.set()
        searcher.join(30)
        app.close()
    assert not errors, errors[:3]
    during = [found for t, found in seen if started <= t <= finished]
    after = [found for t, found in seen if t > finished + 0.5]
    assert finished - started > 1.0 and len(during) >= 3  # the searches really overlapped the rebuild
    assert not any(during)  # the old index, whole, until the new one is in place
    assert after and all(after)  # then the new one
