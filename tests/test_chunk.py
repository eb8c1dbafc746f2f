from __future__ import annotations

from indexer.chunk import chunk_document
from indexer.parse import parse_text

from .conftest import seed_text


def test_one_chunk_per_lowest_section():
    doc = parse_text(seed_text("jintan"), "jintan.txt")
    chunks = chunk_document(doc)
    keys = [c.section_key for c in chunks]
    leaves = [s.key for s in doc.sections if not s.has_children]
    assert keys == leaves  # every item fits one chunk; parts with only a heading have none
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text


def test_long_section_split_at_sentence_ends_with_overlap():
    body = "1.很长的条目。" + "".join(f"这是第{i}个用于测试的句子，长度大约二十个字。" for i in range(60))
    doc = parse_text("一、第一部分\n" + body + "\n2.第二条目。短。", "long.txt")
    chunks = [c for c in chunk_document(doc, max_chars=200, overlap=40) if c.section_key == "1.1"]
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text) <= 200
        assert doc.text[c.start:c.end] == c.text
    for c in chunks[:-1]:
        assert c.text.endswith("。")  # cut where a sentence ends
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # small overlap
    assert chunks[0].start == doc.sections[1].start
    assert chunks[-1].end == doc.sections[1].end
