"""BM25 read straight from the files bm25s saves: the same scores as bm25s gives."""

from __future__ import annotations

import json

import bm25s
import numpy as np
import pytest

from assistant.search.postings import load_postings

DOCS = [["发展", "党员", "发展党员"], ["党员", "教育", "管理"], ["双减", "政策", "落实"], ["教育", "教育", "公平"]]


@pytest.fixture
def saved(tmp_path):
    vocab: dict[str, int] = {}
    ids = [np.array([vocab.setdefault(w, len(vocab)) for w in d], dtype=np.int32) for d in DOCS]
    retriever = bm25s.BM25(method="lucene")
    retriever.index((ids, vocab), show_progress=False)
    retriever.save(str(tmp_path / "bm25"), show_progress=False)
    return retriever, tmp_path / "bm25"


def test_scores_match_bm25s(saved):
    retriever, path = saved
    postings = load_postings(path)
    for words in (["党员"], ["教育", "党员"], ["双减", "双减", "公平"], ["没有的词"]):
        ids = retriever.get_tokens_ids(list(dict.fromkeys(words)))
        expected = retriever.get_scores_from_ids(ids) if ids else np.zeros(len(DOCS))
        np.testing.assert_allclose(postings.scores(words, len(DOCS)), expected, rtol=1e-6)
    assert postings.num_docs == len(DOCS)
    assert postings.document_frequencies()["教育"] == 2


def test_mismatched_arrays_are_refused(saved):
    _, path = saved
    np.save(path / "data.csc.index.npy", np.zeros(1, dtype=np.float32))
    with pytest.raises(ValueError):
        load_postings(path)


def test_shifted_variant_is_refused(saved):
    _, path = saved
    params = json.loads((path / "params.index.json").read_text())
    (path / "params.index.json").write_text(json.dumps({**params, "method": "bm25l"}))
    with pytest.raises(ValueError, match="bm25l"):
        load_postings(path)


def test_weighted_words_scale_their_scores(saved):
    _, path = saved
    postings = load_postings(path)
    one = {w: postings.scores([w], len(DOCS)) for w in ("党员", "发展党员")}
    weighted = postings.scores({"党员": 0.5, "发展党员": 1.0, "没有的词": 1.0}, len(DOCS))
    np.testing.assert_allclose(weighted, 0.5 * one["党员"] + one["发展党员"], rtol=1e-6)
    assert not postings.scores({"党员": 0.0}, len(DOCS)).any()
