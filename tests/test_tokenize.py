"""The word segmenter's dictionary: kept parsed in the cache, the same words either way."""

from __future__ import annotations

import pytest

from indexer import tokenize

TEXT = "发展党员有哪些要求？落实“双减”政策，劳动合同法第十条"


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("POLICYQA_USER_DICT", raising=False)
    monkeypatch.setattr(tokenize, "_tokenizer", None)
    return tmp_path


def _reload():
    tokenize._tokenizer = None
    return tokenize.tokenizer()


def test_cached_dictionary_gives_the_same_words(fresh):
    first = _reload()
    words = tokenize.tokenize(TEXT)
    assert list((fresh / "cache" / "jieba").glob("*.pickle")), "the parsed dictionary was not kept"
    second = _reload()
    assert second is not first
    assert second.FREQ == first.FREQ and second.total == first.total
    assert tokenize.tokenize(TEXT) == words
    assert "双减" in words and "发展党员" in words  # policy terms are in the cached dictionary


def test_user_dictionary_change_is_seen(fresh, monkeypatch):
    _reload()
    assert "立德树人工程" not in tokenize.tokenize("推进立德树人工程")
    terms = fresh / "terms.txt"
    terms.write_text("立德树人工程 50000\n", encoding="utf-8")
    monkeypatch.setenv("POLICYQA_USER_DICT", str(terms))
    _reload()
    assert "立德树人工程" in tokenize.tokenize("推进立德树人工程")
    assert len(list((fresh / "cache" / "jieba").glob("*.pickle"))) == 2


def test_damaged_cache_is_rebuilt(fresh):
    words = (_reload(), tokenize.tokenize(TEXT))[1]
    (kept,) = (fresh / "cache" / "jieba").glob("*.pickle")
    kept.write_bytes(b"not a pickle")
    _reload()
    assert tokenize.tokenize(TEXT) == words
    assert kept.read_bytes() != b"not a pickle"


def test_bad_user_dictionary_is_reported(fresh, monkeypatch):
    terms = fresh / "terms.txt"
    terms.write_text("立德树人 很多\n", encoding="utf-8")
    monkeypatch.setenv("POLICYQA_USER_DICT", str(terms))
    with pytest.raises(tokenize.TermFileError, match="terms.txt:1"):
        _reload()


def test_unwritable_cache_only_costs_time(fresh, monkeypatch):
    blocker = fresh / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("POLICYQA_CACHE", str(blocker))
    _reload()
    assert "发展党员" in tokenize.tokenize(TEXT)
