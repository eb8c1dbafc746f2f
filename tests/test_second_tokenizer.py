"""The second model's tokenizer through the sentencepiece library gives the wheel's own ids."""

from __future__ import annotations

import builtins
import os

import pytest

from indexer import second, second_tokenizer
from indexer.chunk import chunk_document
from indexer.parse import parse_text
from indexer.read import discover, read_document
from tests.conftest import CORPUS

ODD = ["", " ", "纺锭", "全部建成后增加的纺锭", "猖镢刼掠，屿上渔民", "ＡＢＣ１２３　全角", "臺灣 教育 traditional",
       "第十三条\n\n  英文 words and 数字 3.14%", "😀表情", "\t\u3000", "猖 镢", " 猖镢 "]


@pytest.fixture(scope="module")
def tokenizers():
    fast = second.load_tokenizer()
    if not isinstance(fast, second_tokenizer.SecondTokenizer):
        pytest.skip("sentencepiece is not installed: the port does everything")
    return fast, second.port_tokenizer()


def _seed_texts() -> list[str]:
    pairs = []
    for f in discover(CORPUS)[0]:
        doc = parse_text(read_document(f.path), f.source)
        headings = {s.key: s.path[-1] if s.path else "" for s in doc.sections}
        pairs += [(headings[c.section_key], c.text) for c in chunk_document(doc)]
    return second.build_texts(pairs)


def test_the_library_gives_the_ports_ids(tokenizers):
    fast, port = tokenizers
    texts = _seed_texts() + ODD
    assert len(texts) > 500
    expected = port.encode(texts)
    assert sum(ids.count(second_tokenizer.UNKNOWN) > 1 for ids in expected) > 20  # runs of unknown characters
    assert fast.encode(texts) == expected
    for text in ODD:
        assert fast.encode(text, add_bos=False, add_eos=False) == port.encode(text, add_bos=False, add_eos=False)
    assert fast.encode("教育纺锭", out_type=str) == port.encode("教育纺锭", out_type=str)
    assert isinstance(second._get()._sp, second_tokenizer.SecondTokenizer)  # what the model uses


def test_without_the_library_the_port_is_used(monkeypatch):
    real_import = builtins.__import__

    def no_sentencepiece(name, *args, **kwargs):
        if name == "sentencepiece":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sentencepiece)
    port = object()
    assert second_tokenizer.load(os.devnull, lambda: port) is port
