"""What a build must never do: read the wrong folder and empty the index, follow a link out
of the corpus, expand a small file into hours of work, trust damaged vectors, or lose
the previous index's vectors after a crash."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from assistant.cli.commands import main
from assistant.office.service import Service
from assistant.search.index import load_index
from indexer import limits, store
from indexer.build import BuildError, build_index
from indexer.embed import FakeEmbedder
from indexer.structure import parse_sections


def _build(corpus: Path, index_dir: Path, **kw):
    return build_index(corpus, index_dir, embedder=FakeEmbedder(), **kw)


# --- the corpus folder ---------------------------------------------------------------------

def test_the_corpus_is_recorded_absolute_and_a_server_elsewhere_finds_it(mini_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(mini_corpus.parent)
    _build(Path("corpus"), Path("index"))
    manifest = store.read_manifest(tmp_path / "index")
    assert manifest["corpus"] == str(mini_corpus)
    # an index from an earlier version recorded it relatively, against where `make run` ran
    manifest["corpus"] = "corpus"
    (tmp_path / "index" / store.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "corpus").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)  # a server started from another folder, which has its own corpus/
    service = Service(tmp_path / "index", embedder=FakeEmbedder())
    assert service.corpus.resolve() == mini_corpus.resolve()


def test_a_rebuild_that_would_drop_most_documents_is_refused(mini_corpus, tmp_path, capsys):
    index_dir = tmp_path / "index"
    _build(mini_corpus, index_dir)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "一份.txt").write_text("丙区通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    before = (index_dir / store.MANIFEST).read_bytes()
    with pytest.raises(BuildError, match="--allow-shrink") as refused:
        _build(wrong, index_dir)
    assert "2 个文档中的 2 个" in str(refused.value)
    assert (index_dir / store.MANIFEST).read_bytes() == before and len(load_index(index_dir).documents) == 2
    assert main(["index", str(wrong), "--index", str(index_dir), "--model", "fake"]) == 1
    assert "--allow-shrink" in capsys.readouterr().err
    assert main(["index", str(wrong), "--index", str(index_dir), "--model", "fake", "--allow-shrink"]) == 0
    assert len(load_index(index_dir).documents) == 1


def test_removing_documents_on_purpose_is_not_a_shrink(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    _build(mini_corpus, index_dir)
    (mini_corpus / "2023-甲区教育工作要点.txt").unlink()
    report = _build(mini_corpus, index_dir)  # one of two: not more than half
    assert report.removed == ["2023-甲区教育工作要点.txt"]
    (mini_corpus / "2024-乙县教育工作要点.txt").rename(tmp_path / "out.txt")
    (mini_corpus / "新.txt").write_text("丙区通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    with pytest.raises(BuildError):
        _build(mini_corpus, index_dir)
    assert _build(mini_corpus, index_dir, removing={"2024-乙县教育工作要点.txt"}).documents == 1


# --- links ------------------------------------------------------------------------------------

def test_links_out_of_the_corpus_are_skipped_with_a_reason(mini_corpus, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (outside / "a.txt").write_text("外部文件夹中的通知。内容。", encoding="utf-8")
    os.symlink(outside / "secret.txt", mini_corpus / "passwd.txt")
    os.symlink(outside, mini_corpus / "etc")
    inside = mini_corpus / "sub"
    inside.mkdir()
    os.symlink(mini_corpus / "2023-甲区教育工作要点.txt", inside / "link-inside.txt")
    report = _build(mini_corpus, tmp_path / "index")
    reasons = {s.source: s.reason for s in report.skipped}
    assert "文档文件夹之外" in reasons["passwd.txt"] and "文档文件夹之外" in reasons["etc"]
    titles = [d.title for d in load_index(tmp_path / "index").documents]
    assert not any("root" in t for t in titles) and len(titles) == 3  # the link inside still counts
    report = _build(mini_corpus, tmp_path / "index2", follow_links=True)
    assert len(load_index(tmp_path / "index2").documents) == 6  # and passwd.txt, etc/secret.txt, etc/a.txt


# --- what a file may expand to ------------------------------------------------------------------

def _bomb_docx(path: Path, characters: int) -> Path:
    """A valid .docx whose document.xml is `characters` of repeated text: tiny on disk."""
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                para = "<w:p><w:r><w:t>" + "发展党员工作要求。" * 100 + "</w:t></w:r></w:p>"
                data = data.replace(b"<w:body>", b"<w:body>" + para.encode() * (characters // 900))
            dst.writestr(item, data)
    return path


def test_a_zip_bomb_docx_is_refused_before_it_is_read(mini_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(limits, "_RATIO_APPLIES_FROM", 1024 * 1024)
    bomb = _bomb_docx(mini_corpus / "炸弹.docx", 1_000_000)
    assert bomb.stat().st_size < 100_000
    report = _build(mini_corpus, tmp_path / "index")
    (skipped,) = report.skipped
    assert skipped.source == "炸弹.docx" and "压缩炸弹" in skipped.reason
    assert report.documents == 2


def test_documents_over_the_text_and_chunk_limits_are_skipped(mini_corpus, tmp_path, monkeypatch):
    (mini_corpus / "长.txt").write_text("某局通知\n" + "一段正文，说明工作要求。" * 2000, encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_DOCUMENT_CHARS", 10_000)
    report = _build(mini_corpus, tmp_path / "index")
    assert any(s.source == "长.txt" and "文档过长" in s.reason for s in report.skipped)
    monkeypatch.setattr(limits, "MAX_DOCUMENT_CHARS", 1_000_000)
    monkeypatch.setattr(limits, "MAX_DOCUMENT_CHUNKS", 20)
    report = _build(mini_corpus, tmp_path / "index2")
    assert any(s.source == "长.txt" and "文本块过多" in s.reason for s in report.skipped)
    assert not list(tmp_path.glob(".index*.tmp-*"))


# --- the index folder -------------------------------------------------------------------------------

def test_an_index_reached_through_a_link_stays_a_link(mini_corpus, tmp_path):
    real = tmp_path / "real-index"
    link = tmp_path / "idxlink"
    _build(mini_corpus, real)
    os.symlink(real, link)
    (mini_corpus / "新.txt").write_text("丙区通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    for _ in range(2):
        _build(mini_corpus, link)
        assert link.is_symlink() and len(load_index(link).documents) == 3
        (mini_corpus / "新.txt").write_text("丙区通知\n一、总则\n1.做好工作。新内容。\n", encoding="utf-8")
    assert not [p.name for p in tmp_path.iterdir() if ".old" in p.name or ".tmp-" in p.name]
    with store.build_lock(real), pytest.raises(store.IndexProblem, match="另一个建索引的进程"):
        _build(mini_corpus, link)  # one lock, whichever spelling of the path


def test_the_index_folder_keeps_its_mode(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    _build(mini_corpus, index_dir)
    assert stat.S_IMODE(os.stat(index_dir).st_mode) == 0o777 & ~_umask()
    os.chmod(index_dir, 0o750)
    (mini_corpus / "新.txt").write_text("丙区通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    _build(mini_corpus, index_dir)
    assert stat.S_IMODE(os.stat(index_dir).st_mode) == 0o750


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_build_after_a_crash_between_the_renames_reuses_the_old_vectors(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    first = _build(mini_corpus, index_dir)
    os.rename(index_dir, tmp_path / ".index.old")  # killed between the two renames of a swap
    (mini_corpus / "新.txt").write_text("丙区通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    seen = []

    def progress(stage, done, total):
        seen.append(store.exists(index_dir))  # searches find an index while the build runs

    report = _build(mini_corpus, index_dir, progress=progress)
    assert report.reused == first.chunks and report.embedded < first.chunks
    assert seen and all(seen)


# --- damage that keeps a file's size -----------------------------------------------------------------

def _overwrite(path: Path, array: np.ndarray) -> None:
    """Same size, different content, as a disk error or a stray write would leave it."""
    header = path.read_bytes()[: path.stat().st_size - array.nbytes]
    path.write_bytes(header + array.tobytes())


def test_nan_vectors_are_refused_and_rebuild_recomputes_them(mini_corpus, tmp_path, capsys):
    index_dir = tmp_path / "index"
    _build(mini_corpus, index_dir)
    good = np.load(index_dir / store.VECTORS).copy()
    _overwrite(index_dir / store.VECTORS, np.full_like(good, np.nan))
    with pytest.raises(store.IndexDamaged, match="--rebuild"):
        load_index(index_dir)
    assert main(["search", "发展党员", "--index", str(index_dir), "--model", "fake", "--json"]) == 1
    out, err = capsys.readouterr()
    assert "NaN" not in out and "无效的向量" in err and "--rebuild" in err
    _build(mini_corpus, index_dir, rebuild=True)
    assert np.array_equal(np.load(index_dir / store.VECTORS), good)


def test_every_damaged_row_is_found_on_load_and_an_ordinary_build_recomputes_it(mini_corpus, tmp_path, capsys):
    (mini_corpus / "长.txt").write_text("某局通知\n一、总则\n" + "".join(
        f"{n}.第{n}项工作。开展第{n}次检查，落实整改要求。\n" for n in range(1, 700)), encoding="utf-8")
    index_dir = tmp_path / "index"
    _build(mini_corpus, index_dir)
    good = np.load(index_dir / store.VECTORS).copy()
    assert len(good) > 600  # a sample of a few hundred rows would miss rows 1 and 7
    damaged = good.copy()
    damaged[1] = np.nan
    damaged[7] = 0.0
    _overwrite(index_dir / store.VECTORS, damaged)
    with pytest.raises(store.IndexDamaged, match="2 行（第 2、8 行）"):
        load_index(index_dir)
    assert main(["index", str(mini_corpus), "--index", str(index_dir), "--model", "fake"]) == 0  # not --rebuild
    assert "2 个损坏的向量" in capsys.readouterr().out
    assert np.array_equal(np.load(index_dir / store.VECTORS), good)
    load_index(index_dir).close()


@pytest.mark.parametrize("name", [store.SENTENCE_CHUNK, store.USE_SENTENCES])
def test_garbage_second_model_files_are_refused_and_rebuilt(mini_corpus, tmp_path, name):
    index_dir = tmp_path / "index"
    _build(mini_corpus, index_dir)
    if not (index_dir / name).exists():
        pytest.skip("the second model is not installed")
    good = np.load(index_dir / name).copy()
    if good.dtype == np.float16:
        garbage = np.full_like(good, np.inf)
    else:
        garbage = np.random.default_rng(1).integers(-10**6, 10**6, size=good.shape).astype(good.dtype)
    _overwrite(index_dir / name, garbage)
    with pytest.raises(store.IndexDamaged, match="--rebuild"):
        load_index(index_dir)
    _build(mini_corpus, index_dir, rebuild=True)  # recomputed from the documents, not copied
    assert np.array_equal(np.load(index_dir / name), good)


# --- headings ---------------------------------------------------------------------------------------------

def test_items_numbered_past_999_are_headings():
    paragraphs = ["某局工作要点", "一、总则"] + [f"{n}.第{n}项工作。内容。" for n in range(1, 1203)]
    sections = parse_sections(paragraphs)
    assert sections[-1].path == ["一、总则", "1202.第1202项工作"]
    assert [s.path[-1] for s in sections if s.path[-1].startswith("1000.")] == ["1000.第1000项工作"]
