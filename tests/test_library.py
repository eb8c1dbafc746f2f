"""The corpus folder behind the page: uploads never overwrite a document, removals never
lose one, and anything removed can be put back."""

from __future__ import annotations

import os
from pathlib import Path

from assistant.office.library import (
    REMOVED_DIR,
    REPLACE,
    add_files,
    list_removed,
    remove_source,
    restore_removed,
)
from assistant.office.service import Service
from indexer.build import build_index
from indexer.embed import FakeEmbedder

NOTICE = "丙区教育局关于课后服务的通知\n一、总体安排\n1.做好课后托管。实现义务教育学校课后服务全覆盖。\n"
OTHER = "丙区教育局关于课后服务的通知（修订）\n一、总体安排\n1.做好课后托管。开设科技社团。\n"


def _file(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "uploads" / str(len(list(tmp_path.glob("uploads/*"))))
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_same_named_upload_keeps_both_by_default(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "通知.txt").write_text(NOTICE, encoding="utf-8")
    (upload,) = add_files(corpus, [(_file(tmp_path, "通知.txt", OTHER), "通知.txt")])
    assert upload.action == "renamed" and upload.saved_as == "通知（2）.txt"
    assert (corpus / "通知.txt").read_text(encoding="utf-8") == NOTICE  # the original is untouched
    assert (corpus / "通知（2）.txt").read_text(encoding="utf-8") == OTHER
    assert "原文件保持不变" in upload.message() and "通知（2）.txt" in upload.message()


def test_a_same_named_upload_can_replace_and_the_original_is_restorable(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "通知.txt").write_text(NOTICE, encoding="utf-8")
    (upload,) = add_files(corpus, [(_file(tmp_path, "通知.txt", OTHER), "通知.txt")], on_conflict=REPLACE)
    assert upload.action == "replaced" and (corpus / "通知.txt").read_text(encoding="utf-8") == OTHER
    (removed,) = list_removed(corpus)
    assert removed.source == "通知.txt" and removed.reason == "被同名上传替换"
    assert (corpus / REMOVED_DIR / removed.stored).read_text(encoding="utf-8") == NOTICE
    assert removed.stored in upload.message()
    assert restore_removed(corpus, removed.stored) == "通知（2）.txt"  # its name is taken now: restored beside
    assert (corpus / "通知（2）.txt").read_text(encoding="utf-8") == NOTICE and not list_removed(corpus)


def test_an_identical_upload_is_not_added_twice(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "通知.txt").write_text(NOTICE, encoding="utf-8")
    (upload,) = add_files(corpus, [(_file(tmp_path, "通知.txt", NOTICE), "通知.txt")])
    assert upload.action == "identical" and not upload.saved and sorted(os.listdir(corpus)) == ["通知.txt"]


def test_an_upload_the_index_would_skip_never_enters_the_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    binary = tmp_path / "数据.txt"
    binary.write_bytes(bytes(range(256)) * 64)
    (upload,) = add_files(corpus, [(binary, "数据.txt")])
    assert upload.action == "refused" and "不是文本文件" in upload.reason
    assert os.listdir(corpus) == []  # no hidden copy left behind either


def test_removals_of_one_name_within_a_second_each_keep_their_copy(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    stored = []
    for n in range(3):
        (corpus / "通知.txt").write_text(f"{NOTICE}第{n}版。", encoding="utf-8")
        stored.append(remove_source(corpus, "通知.txt").stored)
    assert len(set(stored)) == 3
    texts = {(corpus / REMOVED_DIR / s).read_text(encoding="utf-8") for s in stored}
    assert texts == {f"{NOTICE}第{n}版。" for n in range(3)}
    assert [e.stored for e in list_removed(corpus)] == sorted(stored, reverse=True)


def test_a_document_removed_from_a_subfolder_goes_back_there(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "2023").mkdir(parents=True)
    (corpus / "2023" / "通知.txt").write_text(NOTICE, encoding="utf-8")
    entry = remove_source(corpus, "2023/通知.txt")
    assert entry.source == "2023/通知.txt" and not (corpus / "2023" / "通知.txt").exists()
    assert restore_removed(corpus, entry.stored) == "2023/通知.txt"
    assert (corpus / "2023" / "通知.txt").read_text(encoding="utf-8") == NOTICE


def test_service_upload_reports_renames_and_indexes_both(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    service = Service(index_dir, corpus_dir=mini_corpus, embedder=FakeEmbedder())
    name = "2023-甲区教育工作要点.txt"
    original = (mini_corpus / name).read_text(encoding="utf-8")
    (upload,), report = service.upload([(_file(tmp_path, name, NOTICE), name)])
    assert upload.action == "renamed" and (mini_corpus / name).read_text(encoding="utf-8") == original
    assert report.documents == 3 and report.changed == [] and report.added == [upload.saved_as]
    removed, report = service.remove(service.engine.documents()[0].doc_id)
    assert report.documents == 2
    source, report = service.restore(removed.stored)
    assert source == removed.source and report.documents == 3
