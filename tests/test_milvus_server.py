"""The backend's dense-vector, filter, upsert and delete paths against the real Milvus server
binary (the `milvus==2.3.5` wheel: Milvus standalone with its embedded etcd), with
authentication on. It predates sparse vectors and BM25 (2.4), so whole libraries are tested
on Milvus Lite (test_milvus.py); here the expressions, generations, the manifest and the
writer lease meet the production engine's parser and storage."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.milvus_server

TOKEN = "root:Milvus"  # the server's default administrator
ETCD_PEER_PORT = 2380


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from assistant.backends.milvus.lite import free_port

    exe = shutil.which("milvus-server") or str(Path(sys.executable).with_name("milvus-server"))
    if not Path(exe).exists():
        pytest.skip("milvus==2.3.5 (milvus-server) is not installed")
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", ETCD_PEER_PORT)) == 0:
            pytest.skip(f"port {ETCD_PEER_PORT} (the embedded etcd's peer port, fixed in milvus 2.3.5) is in use")
    data = tmp_path_factory.mktemp("milvus-server")
    port = free_port()
    ports = {f"--{name}-port": str(free_port()) for name in ("etcd", "root-coord", "proxy-internal", "query-coord",
                                                              "query-node", "index-coord", "index-node", "data-coord",
                                                              "data-node")}
    log = open(data / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([exe, "--data", str(data / "milvus"), "--proxy-port", str(port),
                             "--authorization-enabled", "true", *[x for kv in ports.items() for x in kv]],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(port, proc, data)
        yield port
    finally:
        # The wrapper starts `milvus run standalone` as a child: stop the whole group.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        time.sleep(1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything of the group still running
        log.close()


def _wait(port: int, proc, data) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, (data / "server.log").read_text(errors="replace")[-2000:]
        try:
            MilvusClient(uri=f"http://127.0.0.1:{port}", token=TOKEN, timeout=3).list_collections()
            return
        except Exception:
            assert time.monotonic() < deadline, "milvus-server did not start"
            time.sleep(1)


@pytest.fixture
def library(server, monkeypatch):
    from assistant.backends.milvus.schema import connect, parse

    monkeypatch.setenv("POLICYQA_MILVUS_TOKEN", TOKEN)
    target = parse(f"milvus://127.0.0.1:{server}/server_test_{time.monotonic_ns() % 10**9}")
    return target, connect(target)


def test_without_the_token_a_clear_refusal(server, monkeypatch):
    from assistant.backends.milvus.schema import MilvusProblem, connect, parse, read_meta

    monkeypatch.delenv("POLICYQA_MILVUS_TOKEN", raising=False)
    target = parse(f"milvus://127.0.0.1:{server}/anything")
    with pytest.raises(MilvusProblem) as e:
        read_meta(connect(target), target)
    assert "Milvus" in str(e.value) and "Traceback" not in str(e.value)


def test_a_server_before_2_4_is_refused_before_any_work(library, mini_corpus):
    from assistant.backends.milvus.engine import MilvusEngine
    from assistant.backends.milvus.schema import MilvusProblem
    from assistant.backends.milvus.writer import mirror_of, publish

    target, _ = library
    location = f"milvus://{target.host}:{target.port}/{target.name}"
    with pytest.raises(MilvusProblem, match="需要 Milvus 2.4"):
        publish(mini_corpus, location, model="fake")
    with pytest.raises(MilvusProblem, match="需要 Milvus 2.4"):
        MilvusEngine(location)
    assert not mirror_of(target).exists()  # refused before building anything


def test_manifest_and_writer_lease(library):
    from assistant.backends.milvus.schema import (
        MilvusProblem,
        claim_writer,
        create_collections,
        index_for,
        read_meta,
        release_writer,
        write_meta,
    )

    target, client = library
    create_collections(client, target, 8, 4, {}, kinds=("meta", "docs", "texts", "sections", "terms"))
    assert read_meta(client, target) is None
    write_meta(client, target, {"gen": 1, "model": {"name": "m3e-small"}, "indexes": {"chunks": index_for(10)}})
    write_meta(client, target, {"gen": 2, "model": {"name": "m3e-small"}, "retire": ["甲"]})  # an upsert
    assert read_meta(client, target)["gen"] == 2
    claim_writer(client, target, "host-a:1")
    with pytest.raises(MilvusProblem, match="host-a:1"):
        claim_writer(client, target, "host-b:2")
    release_writer(client, target)
    claim_writer(client, target, "host-b:2")


def test_generations_filters_and_deletes_on_the_server(library):
    """Rows of two generations; what a reader sees (`visible`), with the engine's filter
    expressions, equals the same selection made in Python, and exact kNN agrees with numpy."""
    from pymilvus import DataType

    from assistant.backends.milvus.engine import MilvusEngine
    from assistant.backends.milvus.schema import PARTITIONS, quote, visible
    from assistant.search.query import Filters
    from indexer.store import DocumentRow

    target, client = library
    name = target.collection("chunks")
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
    schema.add_field("gen", DataType.INT64)
    schema.add_field("year", DataType.INT64, is_partition_key=True)
    schema.add_field("region", DataType.VARCHAR, max_length=64)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=8)
    params = client.prepare_index_params()
    params.add_index("dense", index_type="FLAT", metric_type="IP", params={})
    client.create_collection(name, schema=schema, index_params=params, num_partitions=PARTITIONS,
                             consistency_level="Strong")

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(120, 8)).astype(np.float32)
    docs = ["武进甲", "武进乙", "金坛丙", "宝山丁"]
    regions = {"武进甲": "武进区", "武进乙": "武进区", "金坛丙": "金坛区", "宝山丁": "宝山区"}
    rows = [{"id": (1 + (i >= 60)) << 32 | i, "doc_id": docs[i % 4], "gen": 1 + (i >= 60), "year": 2020 + i % 3,
             "region": regions[docs[i % 4]], "dense": vectors[i].tolist()} for i in range(120)]
    client.insert(name, rows)
    client.flush(name)

    meta = {"gen": 2, "retire": ["武进甲"]}  # 武进甲 was rewritten in generation 2
    engine = MilvusEngine.__new__(MilvusEngine)
    engine._visible = visible(meta)
    engine._docs = [DocumentRow(n, d, f"{d}.txt", "", d, "", "", "", 2020, regions[d], "", 0) for n, d in enumerate(docs)]
    query = rng.normal(size=8).astype(np.float32)
    for filters in (None, Filters(years={2021}), Filters(regions={"武进"}), Filters(years={2020, 2022}, docs={"金坛"})):
        expr = engine.expression(filters)
        hits = client.search(name, data=[query.tolist()], anns_field="dense", limit=200, filter=expr,
                             output_fields=["doc_id", "gen"])[0]

        def wanted(r, f=filters):
            seen = r["gen"] <= 2 and not (r["doc_id"] == "武进甲" and r["gen"] < 2)
            return seen and (not f or ((not f.years or r["year"] in f.years)
                                       and (not f.regions or "武进" in r["region"])
                                       and (not f.docs or any(x in r["doc_id"] for x in f.docs))))

        expected = [r for r in rows if wanted(r)]
        assert {h["id"] for h in hits} == {r["id"] for r in expected}, expr
        order = sorted(expected, key=lambda r: -float(np.dot(r["dense"], query)))
        assert [h["id"] for h in hits[:10]] == [r["id"] for r in order[:10]]

    # The writer's clean-up after a commit: the retired document's older rows go.
    client.delete(name, filter=f"doc_id in {json.dumps(meta['retire'], ensure_ascii=False)} and gen < {meta['gen']}")
    left = client.query(name, filter=f"doc_id == {quote('武进甲')}", output_fields=["gen"], limit=1000)
    assert left and {r["gen"] for r in left} == {2}
    client.upsert(name, [{**rows[70], "region": "新北区"}])
    (row,) = client.get(name, ids=[rows[70]["id"]], output_fields=["region"])
    assert row["region"] == "新北区"
