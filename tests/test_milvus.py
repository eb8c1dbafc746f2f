"""The Milvus backend against a real Milvus server process (`milvus-lite server` on 127.0.0.1,
a free port, stopped at the end): the CLI and the page on `milvus://…`, parity with the local
index, filters, incremental writes, a failed write, mismatches refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, DEV, DEV_COLLOQUIAL, ROOT
from tests.ui_process import ui_process

pytest.importorskip("pymilvus")
pytestmark = [pytest.mark.milvus, pytest.mark.model]


def policyqa(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def published(*args: str) -> dict:
    return json.loads(policyqa("index", *args, "--json").stdout)


@pytest.fixture(scope="session")
def milvus(tmp_path_factory):
    from assistant.backends.milvus.lite import LiteServer
    from indexer.cache import policyqa_cache

    server = LiteServer(tmp_path_factory.mktemp("milvus") / "data").start()
    yield server
    server.stop()
    for mirror in (policyqa_cache() / "milvus").glob(f"127.0.0.1-{server.port}-*"):
        shutil.rmtree(mirror, ignore_errors=True)


@pytest.fixture(scope="session")
def seeds(milvus) -> str:
    """The five seed documents written into Milvus by the CLI."""
    location = milvus.location("seeds")
    report = published(str(CORPUS), "--to", location)
    assert len(report["added"]) == 5 and report["index_dir"] == location
    return location


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    return copy


def engine(location: str):
    from assistant.search.engine import open_engine

    return open_engine(location)


def rows_of(location: str, kind: str, expr: str, fields=("doc_id", "gen")) -> list[dict]:
    from assistant.backends.milvus.schema import connect, parse

    target = parse(location)
    return connect(target).query(target.collection(kind), filter=expr, output_fields=list(fields), limit=16_384)


# -- writing ------------------------------------------------------------------------------


def test_an_unchanged_corpus_writes_nothing(seeds):
    report = published(str(CORPUS), "--to", seeds)
    assert report["up_to_date"] and not report["added"] and not report["changed"] and not report["removed"]
    chunks = rows_of(seeds, "chunks", "gen >= 0", ["id"])
    assert len(chunks) == engine(seeds).manifest["counts"]["chunks"] == 91


def test_incremental_update_and_removal(milvus, corpus_copy):
    location = milvus.location("incremental")
    published(str(corpus_copy), "--to", location)
    before = {r["doc_id"]: r["gen"] for r in rows_of(location, "docs", "gen >= 0")}

    changed = corpus_copy / "2023-武进教育工作要点.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n28.推进人工智能进课堂。建成智慧校园示范校十所。\n",
                       encoding="utf-8")
    report = published(str(corpus_copy), "--to", location)
    assert report["changed"] == [changed.name] and report["unchanged"] == 4 and not report["added"]
    after = {r["doc_id"]: r["gen"] for r in rows_of(location, "docs", "gen >= 0")}
    assert len(after) == 5  # the replaced document's older rows were deleted after the commit
    moved = [d for d in after if after[d] != before[d]]
    assert len(moved) == 1  # only the changed file's rows were written
    hits = engine(location).search("人工智能进课堂 智慧校园示范校", k=1)
    assert hits[0].source == changed.name and "智慧校园示范校十所" in hits[0].text

    gone = corpus_copy / "2020-宝山区教育工委工作要点.txt"
    gone.unlink()
    report = published(str(corpus_copy), "--to", location)
    assert report["removed"] == [gone.name]
    e = engine(location)
    assert gone.name not in {d.source for d in e.documents()}
    assert all(r.source != gone.name for r in e.search("宝山区教育工作委员会 三会一课", k=10))
    doc_ids = {d.doc_id for d in e.documents()}
    for kind in ("docs", "texts", "sections", "chunks", "sentences"):
        assert {r["doc_id"] for r in rows_of(location, kind, "gen >= 0")} == doc_ids, kind


def test_a_failed_write_leaves_the_previous_rows_searchable(milvus, corpus_copy, monkeypatch):
    from assistant.backends.milvus import writer as milvus_publish
    from assistant.search.query import Filters

    location = milvus.location("failing")
    milvus_publish.publish(corpus_copy, location)
    target = corpus_copy / "2023-金坛区委教育工委工作要点.txt"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("发展党员", "吸收新成员"), encoding="utf-8")
    (corpus_copy / "2025-新增文件.txt").write_text("某区2025年工作要点\n一、新增事项\n1.开设航模社团。每校至少一个。\n",
                                                encoding="utf-8")

    real = milvus_publish._Writer._write_document
    written = []

    def fail_on_second(self, doc, gen, avgdl):
        if written:
            raise OSError("网络中断（测试）")
        written.append(doc.source)
        real(self, doc, gen, avgdl)

    monkeypatch.setattr(milvus_publish._Writer, "_write_document", fail_on_second)
    with pytest.raises(OSError):
        milvus_publish.publish(corpus_copy, location)
    monkeypatch.setattr(milvus_publish._Writer, "_write_document", real)

    e = engine(location)  # a reader: the previous commit, whole
    assert len(e.documents()) == 5 and "2025-新增文件.txt" not in {d.source for d in e.documents()}
    jintan = Filters(docs={target.name})
    assert "发展党员" in e.search("发展党员 双培养", k=1, filters=jintan)[0].text
    assert not any("吸收新成员" in r.text for r in e.search("吸收新成员", k=5, filters=jintan))
    assert not any("航模社团" in r.text for r in e.search("航模社团", k=5))

    report = milvus_publish.publish(corpus_copy, location)  # the next write completes
    assert sorted(report.added + report.changed) == sorted(["2025-新增文件.txt", target.name])
    e = engine(location)
    assert "航模社团" in e.search("航模社团", k=1)[0].text
    assert "吸收新成员" in e.search("吸收新成员 双培养", k=1, filters=jintan)[0].text
    committed = e.manifest["gen"]
    assert not rows_of(location, "chunks", f"gen > {committed}")


def test_another_writer_is_refused(milvus, corpus_copy):
    from assistant.backends.milvus.schema import MilvusProblem, connect, parse, release_writer, renew_writer
    from assistant.backends.milvus.writer import publish

    location = milvus.location("leased")
    publish(corpus_copy, location)
    target = parse(location)
    client = connect(target)
    renew_writer(client, target, "other-host:4242")
    (corpus_copy / "2025-新增文件.txt").write_text("某区2025年工作要点\n一、事项\n1.开设航模社团。\n", encoding="utf-8")
    with pytest.raises(MilvusProblem, match="另一个写入进程（other-host:4242）"):
        publish(corpus_copy, location)
    release_writer(client, target)
    assert publish(corpus_copy, location).added == ["2025-新增文件.txt"]


def test_a_library_of_another_model_is_refused(seeds, corpus_copy):
    proc = policyqa("index", str(corpus_copy), "--to", seeds, "--model", "fake", check=False)
    assert proc.returncode == 1 and "由模型“m3e-small" in proc.stderr and "fake" in proc.stderr
    proc = policyqa("search", "发展党员", "--index", seeds, "--model", "fake", check=False)
    assert proc.returncode == 1 and "请使用相同模型" in proc.stderr


def test_unreachable_or_missing_libraries_get_a_clear_message(milvus):
    from assistant.backends.milvus.lite import free_port

    proc = policyqa("search", "发展党员", "--index", f"milvus://127.0.0.1:{free_port()}/seeds", check=False)
    assert proc.returncode == 1 and "无法连接 Milvus" in proc.stderr
    proc = policyqa("search", "发展党员", "--index", milvus.location("nothing_here"), check=False)
    assert proc.returncode == 1 and "Milvus 中没有库 nothing_here" in proc.stderr and "--to" in proc.stderr
    proc = policyqa("search", "发展党员", "--index", "milvus://127.0.0.1:1/有空格 的库", check=False)
    assert proc.returncode == 1 and "Milvus 地址应为" in proc.stderr


# -- reading --------------------------------------------------------------------------------


def test_cli_commands_on_milvus(seeds, tmp_path):
    out = json.loads(policyqa("search", "发展党员有哪些要求", "--index", seeds, "--json").stdout)
    top = out["results"][0]
    assert "发展党员" in top["text"] and top["section_path"] and top["matched_terms"]

    answer = json.loads(policyqa("ask", "发展党员有哪些要求", "--index", seeds, "--json").stdout)
    assert answer["status"] == "ok" and answer["points"] and all(p["citations"] for p in answer["points"])
    cited = {answer["passages"][c - 1]["section_id"] for p in answer["points"] for c in p["citations"]}
    assert any(s.endswith("#3.7") for s in cited)  # 金坛 › 三、… › 7.持续提升发展党员工作水平

    found = json.loads(policyqa("precedents", "严把党员入口关，做好发展党员工作", "--index", seeds, "--json").stdout)
    assert len({p["section"]["doc_id"] for p in found["precedents"]}) >= 2

    first, second = out["results"][0]["section_id"], out["results"][1]["section_id"]
    diff = json.loads(policyqa("compare", first, second, "--index", seeds, "--json").stdout)
    assert diff and "发展党员" in json.dumps(diff, ensure_ascii=False)

    draft = tmp_path / "草稿.txt"
    draft.write_text("一、党建\n1.严格发展党员，把好党员入口关。\n2.深化师德师风建设。\n", encoding="utf-8")
    check = policyqa("draft-check", str(draft), "--index", seeds).stdout
    assert "对照文件" in check

    evaluated = policyqa("eval", str(DEV), "--index", seeds).stdout
    assert "recall@5" in evaluated


def test_parity_with_the_local_index(seeds, real_index):
    """The same fusion over the same candidates: the same sections, scores and figures."""
    from assistant.search.evaluate import evaluate, load_gold

    remote, local = engine(seeds), engine(str(real_index))
    for gold in (DEV, DEV_COLLOQUIAL):
        items = load_gold(gold)
        there, _ = evaluate(remote, items)
        here, _ = evaluate(local, items)
        for metric in ("recall@5", "mrr@10"):
            assert abs(there["overall"][metric] - here["overall"][metric]) <= 0.01, (gold.name, metric)
        agree = sum([r.section_id for r in remote.search(q["question"], k=5)] ==
                    [r.section_id for r in local.search(q["question"], k=5)] for q in items)
        assert agree >= 0.9 * len(items), (gold.name, agree)
    a, b = remote.search("师德师风建设", k=3), local.search("师德师风建设", k=3)
    assert [(r.section_id, r.text) for r in a] == [(r.section_id, r.text) for r in b]
    assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-3)


def test_filters_are_pushed_down(seeds, real_index):
    from assistant.search.query import Filters

    remote, local = engine(seeds), engine(str(real_index))
    for filters in (Filters(years={2023}), Filters(regions={"武进"}), Filters(years={2023}, regions={"金坛区"}),
                    Filters(docs={"宝山"})):
        expr = remote.expression(filters)
        assert expr.startswith(remote.expression(None)) and len(expr) > len(remote.expression(None))
        got = remote.search("加强党的建设", k=8, filters=filters)
        assert got and [r.section_id for r in got] == [r.section_id for r in local.search("加强党的建设", k=8,
                                                                                          filters=filters)]
        assert {r.doc_id for r in got} <= remote.in_scope(filters)
    assert remote.search("党建", filters=Filters(years={1999})) == []
    assert remote.expression(Filters(regions={"不存在的区"})) is None


def test_article_lookup_and_documents(seeds, real_index):
    remote, local = engine(seeds), engine(str(real_index))
    assert [d.doc_id for d in remote.documents()] == [d.doc_id for d in local.documents()]
    doc = remote.documents()[0]
    assert remote.document_text(doc.doc_id) == local.document_text(doc.doc_id)
    assert [(s.key, s.path) for s in remote.sections(doc.doc_id)] == [(s.key, s.path) for s in local.sections(doc.doc_id)]


def test_a_reader_follows_a_new_commit(milvus, corpus_copy):
    from assistant.backends.milvus.writer import publish

    location = milvus.location("followed")
    publish(corpus_copy, location)
    reader = engine(location)
    (corpus_copy / "2025-新增文件.txt").write_text("某区2025年工作要点\n一、事项\n1.开设航模社团。\n", encoding="utf-8")
    publish(corpus_copy, location)
    assert reader.refresh(force=True)
    assert "2025-新增文件.txt" in {d.source for d in reader.documents()}
    assert "航模社团" in reader.search("航模社团", k=1)[0].text


# -- the page ------------------------------------------------------------------------------------


def test_the_page_on_milvus(milvus, corpus_copy, tmp_path):
    """`python ui.py --index milvus://… --corpus …`: search, answers, documents; an upload and a
    removal on the page are written into Milvus."""
    from gradio_client import Client, handle_file

    location = milvus.location("page")
    published(str(corpus_copy), "--to", location)
    with ui_process("--index", location, "--corpus", str(corpus_copy),
                    "--journal-dir", str(tmp_path / "journal")) as url:
        client = Client(url, verbose=False)
        html = client.predict("发展党员有哪些要求", 5, [], [], [], api_name="/search")
        assert "7.持续提升发展党员工作水平" in html
        answer, passages = client.predict("发展党员有哪些要求", [], [], [], "", api_name="/ask")
        assert "出处" in answer and "在原文中查看" in passages
        table = client.predict(api_name="/list_documents")
        rows = table["data"] if isinstance(table, dict) else table
        assert len(rows) == 5
        doc_id = next(r[-1] for r in rows if "金坛" in r[0])
        assert "发展党员" in client.predict(doc_id, "3.7", api_name="/show_document")

        new = tmp_path / "up" / "2025-丙区教育工作要点.txt"
        new.parent.mkdir()
        new.write_text("丙区教育局2025年工作要点\n一、推进课后服务\n1.做好课后托管。开设科技社团。\n", encoding="utf-8")
        status, *_ = client.predict([handle_file(str(new))], "keep", api_name="/upload")
        assert "已加入索引：2025-丙区教育工作要点.txt" in status
        assert "2025-丙区教育工作要点.txt" in {d.source for d in engine(location).documents()}
        _, passages = client.predict("课后托管科技社团", [], [], [], "", api_name="/ask")
        assert "丙区教育局2025年工作要点" in passages

        table = client.predict(api_name="/list_documents")
        rows = table["data"] if isinstance(table, dict) else table
        doc_id = next(r[-1] for r in rows if r[0] == "丙区教育局2025年工作要点")
        status, *_ = client.predict(doc_id, api_name="/remove")
        assert "已从索引移除" in status
        assert "2025-丙区教育工作要点.txt" not in {d.source for d in engine(location).documents()}
        (kept,) = (corpus_copy / ".removed").glob("2025-丙区教育工作要点.*.txt")  # and can come back
        assert client.predict(kept.name, api_name="/restore")
        assert "2025-丙区教育工作要点.txt" in {d.source for d in engine(location).documents()}
        audit = (tmp_path / "journal" / "page.audit.jsonl").read_text(encoding="utf-8")
        assert '"upload"' in audit and '"remove"' in audit


def test_citation_counts_reach_milvus(milvus, tmp_path):
    """The citation prior (indexer.citations) travels with the library: the same document and
    article counts and the same order as the local index of the same corpus."""
    from assistant.backends.milvus.schema import connect, parse, read_citations, read_meta
    from indexer.store import MANIFEST
    from tests.test_citations import ARTICLE_QUESTION, _law_corpus

    corpus = _law_corpus(tmp_path)
    location = milvus.location("cited")
    published(str(corpus), "--to", location)
    local_dir = tmp_path / "local"
    policyqa("index", str(corpus), "--index", str(local_dir))
    target = parse(location)
    client = connect(target)
    counts = read_citations(client, target, read_meta(client, target))
    local = json.loads((local_dir / MANIFEST).read_text(encoding="utf-8"))["citations"]
    assert counts == local and sorted(counts.values()) == [3, 3]  # the law, and its 第九条
    there = [(r.source, r.section_path) for r in engine(location).search(ARTICLE_QUESTION, k=3)]
    here = [(r.source, r.section_path) for r in engine(str(local_dir)).search(ARTICLE_QUESTION, k=3)]
    assert there == here and there[0][1][-1] == "第九条"
    # a library written before the counts: an unchanged corpus published again brings them
    from assistant.backends.milvus.schema import write_meta

    write_meta(client, target, {**read_meta(client, target), "citation_rows": 0})
    assert read_citations(client, target, read_meta(client, target)) == {}
    assert published(str(corpus), "--to", location)["added"] == []
    assert read_citations(client, target, read_meta(client, target)) == local
