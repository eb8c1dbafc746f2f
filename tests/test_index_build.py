"""The index directory: manifest, incremental updates, atomic replacement, refusals."""

from __future__ import annotations

import json
import os
import time

import pytest

from assistant.search.index import load_index
from indexer import build as build_module
from indexer import store
from indexer.build import BuildError, build_index
from indexer.embed import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, batch_size=32, progress=False):
        self.texts.extend(texts)
        return super().encode(texts, batch_size, progress)


def test_build_writes_one_directory_with_a_manifest(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    report = build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert report.documents == 2 and report.chunks > 0 and not report.skipped
    assert store.exists(index_dir)
    manifest = json.loads((index_dir / "config.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["model"] == {"name": "fake", "dimension": 64}
    assert manifest["counts"] == {"documents": 2, "sections": report.sections, "chunks": report.chunks}
    assert set(manifest["files"]) == set(os.listdir(mini_corpus))
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert manifest["build"]["time"]
    for name in (store.DB, store.VECTORS, store.DENSE, store.BM25_DIR):
        assert (index_dir / name).exists()


def test_unchanged_corpus_embeds_nothing(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    counting = CountingEmbedder()
    report = build_index(mini_corpus, index_dir, embedder=counting)
    assert report.up_to_date and counting.texts == []


def test_changed_file_reembeds_only_that_file(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    first = build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    doc = mini_corpus / "2024-乙县教育工作要点.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "（二）推进职业教育。深化产教融合。\n", encoding="utf-8")
    counting = CountingEmbedder()
    report = build_index(mini_corpus, index_dir, embedder=counting)
    assert report.changed == ["2024-乙县教育工作要点.txt"] and report.added == [] and report.unchanged == 1
    assert report.embedded == 1  # only the new section's chunk; the rest reuse their vectors
    assert counting.texts and all("乙县" in t for t in counting.texts)
    assert report.chunks == first.chunks + 1


def test_every_chunk_has_its_bm25_words_after_a_build_and_an_update(mini_corpus, tmp_path):
    import sqlite3

    from indexer.tokenize import tokenize

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    doc = mini_corpus / "2024-乙县教育工作要点.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "（二）推进职业教育。深化产教融合。\n", encoding="utf-8")
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())  # one file new, one copied
    con = sqlite3.connect(index_dir / store.DB)
    rows = con.execute("SELECT c.tokens, c.text, d.title FROM chunks c JOIN documents d ON d.row = c.doc_row").fetchall()
    con.close()
    assert rows and all(tokens for tokens, _, _ in rows)
    assert any("产教" in tokens.split() or "融合" in tokens.split() for tokens, _, _ in rows)
    for tokens, text, title in rows:  # each chunk's own words, not another's
        own = set(tokenize(text))
        assert len(own & set(tokens.split())) >= 0.8 * len(own), (title, text)


def test_added_and_deleted_files(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    (mini_corpus / "2023-甲区教育工作要点.txt").unlink()
    (mini_corpus / "新文件.md").write_text("# 丙市教育通知\n\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    report = build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert report.removed == ["2023-甲区教育工作要点.txt"]
    assert report.added == ["新文件.md"]
    index = load_index(index_dir)
    assert sorted(d.source for d in index.documents) == ["2024-乙县教育工作要点.txt", "新文件.md"]
    assert index.dense.ntotal == len(index.chunk_doc)


def test_rebuild_forces_a_full_build(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    report = build_index(mini_corpus, index_dir, embedder=FakeEmbedder(), rebuild=True)
    assert not report.up_to_date and report.unchanged == 0 and len(report.added) == 0 and len(report.changed) == 2


def test_a_failed_build_leaves_the_previous_index(mini_corpus, tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    before = (index_dir / "config.json").read_text(encoding="utf-8")
    (mini_corpus / "新增.txt").write_text("丁区通知\n一、总则\n1.新增内容。正文。\n", encoding="utf-8")

    def boom(self, db, staging):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build_module._Builder, "_write_bm25", boom)
    with pytest.raises(BuildError, match="原索引保持不变"):
        build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert (index_dir / "config.json").read_text(encoding="utf-8") == before
    assert len(load_index(index_dir).documents) == 2
    assert not list(tmp_path.glob(".index.tmp-*"))  # staging cleaned up


def test_unreadable_files_are_skipped_with_a_reason(mini_corpus, tmp_path):
    (mini_corpus / "空文件.txt").write_text("", encoding="utf-8")
    (mini_corpus / "二进制.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (mini_corpus / "表格.xlsx").write_bytes(b"PK\x03\x04")
    report = build_index(mini_corpus, tmp_path / "index", embedder=FakeEmbedder())
    reasons = {s.source: s.reason for s in report.skipped}
    assert reasons["空文件.txt"] == "文件为空"
    assert "二进制" in reasons["二进制.txt"]
    assert "不支持的文件类型" in reasons["表格.xlsx"]
    assert report.documents == 2


def test_nothing_indexable_is_an_error_and_keeps_no_half_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "空.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(BuildError, match="没有可索引的文档"):
        build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert not store.exists(tmp_path / "index")


def test_missing_corpus_folder(tmp_path):
    with pytest.raises(BuildError, match="找不到文档文件夹"):
        build_index(tmp_path / "nowhere", tmp_path / "index", embedder=FakeEmbedder())


def test_index_built_with_another_model_is_refused(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    with pytest.raises(store.IndexMismatch) as e:
        load_index(index_dir, model="m3e-small")
    assert "fake" in str(e.value) and "policyqa index" in str(e.value) and "--rebuild" in str(e.value)


def test_other_format_version_is_refused(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    manifest = json.loads((index_dir / "config.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    (index_dir / "config.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(store.IndexMismatch, match="--rebuild"):
        load_index(index_dir)


@pytest.mark.parametrize("damage", ["truncate_vectors", "delete_faiss", "garbage_manifest", "truncate_db"])
def test_damaged_index_is_refused_with_the_command_that_rebuilds_it(mini_corpus, tmp_path, damage):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    if damage == "truncate_vectors":
        (index_dir / store.VECTORS).write_bytes((index_dir / store.VECTORS).read_bytes()[:100])
    elif damage == "delete_faiss":
        (index_dir / store.DENSE).unlink()
    elif damage == "garbage_manifest":
        (index_dir / "config.json").write_text("{not json", encoding="utf-8")
    else:
        (index_dir / store.DB).write_bytes((index_dir / store.DB).read_bytes()[:50])
    with pytest.raises(store.IndexDamaged, match="--rebuild"):
        load_index(index_dir)


def test_damaged_index_is_rebuilt_by_index(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    (index_dir / store.DENSE).unlink()
    report = build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert not report.up_to_date
    assert load_index(index_dir).dense.ntotal == report.chunks


def test_missing_index_message(tmp_path):
    with pytest.raises(store.IndexNotFound, match="policyqa index"):
        load_index(tmp_path / "none")


def test_interrupted_swap_is_recovered(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    os.rename(index_dir, tmp_path / ".index.old")  # as if killed between the two renames
    assert len(load_index(index_dir).documents) == 2


def test_stage_time_adds_up_over_many_short_spans():
    # jieba is timed once per chunk, a fraction of a millisecond each: rounding every span lost them all
    report = build_module.BuildReport("index")
    for _ in range(100):
        with report.timed("words"):
            time.sleep(0.002)
    assert report.to_dict()["stages"]["words"] >= 0.19


def test_encoder_blocks_are_whole_batches_and_spread_a_small_job_over_every_worker():
    from indexer import second
    from indexer.encoding import EMBED_BATCH, _block_size

    for items in (1, 91, 440, 9_128, 69_685):
        size = _block_size(items, 256)
        assert size % EMBED_BATCH == 0 and EMBED_BATCH <= size <= 256
        if items >= 256 * second.WORKERS:
            assert -(-items // size) >= second.WORKERS
    assert _block_size(91, 256) < 91  # a seeds-sized job is not one block on one worker


def test_an_update_keeps_second_model_vectors_of_unchanged_chunks(mini_corpus, tmp_path, monkeypatch):
    import numpy as np

    from indexer import second

    if not second.available():
        pytest.skip("second model not installed")
    # float32 throughout: a text's int8 vectors move with its batch's scale (by < 0.005), which
    # would hide whether a kept vector went back to its own chunk
    monkeypatch.setenv("POLICYQA_SECOND_FLOAT32", "1")
    monkeypatch.setattr(second, "_model", None)
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    changed = sorted(mini_corpus.iterdir())[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n附则：本办法自发布之日起施行。\n", encoding="utf-8")
    report = build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    assert report.reused > 0 and report.embedded > 0
    fresh = tmp_path / "fresh"
    build_index(mini_corpus, fresh, embedder=FakeEmbedder())
    for name in (store.USE_CHUNKS, store.USE_SENTENCES, store.SENTENCE_CHUNK):
        kept, new = np.load(index_dir / name).astype(np.float32), np.load(fresh / name).astype(np.float32)
        assert kept.shape == new.shape
        assert np.abs(kept - new).max() < 1e-3  # fp16 sentence vectors; the same texts either way


def test_a_text_that_occurs_twice_is_encoded_once(tmp_path):
    import numpy as np

    from indexer import second

    class Counting(FakeEmbedder):
        def __init__(self):
            super().__init__()
            self.texts: list[str] = []

        def encode(self, texts, batch_size=32, progress=False):
            self.texts += texts
            return super().encode(texts, batch_size, progress)

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    notice = "关于做好防汛工作的通知\n\n一、防汛值班\n1.各校汛期落实防汛值班表，每日报告。严格执行二十四小时值班制度。\n"
    for name in ("a.txt", "b.txt"):  # the same notice posted twice
        (corpus / name).write_text(notice, encoding="utf-8")
    (corpus / "c.txt").write_text(notice.replace("防汛", "防火"), encoding="utf-8")
    embedder = Counting()
    index_dir = tmp_path / "index"
    report = build_index(corpus, index_dir, embedder=embedder)
    assert report.embedded == 3 and len(embedder.texts) == len(set(embedder.texts)) == 2
    dense = np.load(index_dir / store.VECTORS)
    assert np.array_equal(dense[0], dense[1]) and not np.array_equal(dense[0], dense[2])
    if second.available():
        chunks, sentences = np.load(index_dir / store.USE_CHUNKS), np.load(index_dir / store.USE_SENTENCES)
        owner = np.load(index_dir / store.SENTENCE_CHUNK)
        assert np.array_equal(chunks[0], chunks[1]) and np.abs(chunks[0] - chunks[2]).max() > 0.01
        assert np.array_equal(sentences[owner == 0], sentences[owner == 1]) and (owner == 0).sum() == 2
