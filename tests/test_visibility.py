"""Internal documents (`内部`): the marks, the veiled engine a plain reader gets, and the CLI.
The routes of a served page are in tests/test_library_access.py."""

from __future__ import annotations

import json

import pytest

from assistant.cli.commands import main
from assistant.office.libraries import Person
from assistant.office.service import Service
from assistant.office.shelf import Shelf
from assistant.office.visibility import INTERNAL, PUBLIC, VisibilityError, VisibilityFile
from assistant.search.query import Filters
from assistant.search.veil import Veiled
from indexer.build import build_index
from indexer.embed import FakeEmbedder

OLD = ("甲区学籍管理暂行办法.txt", "甲区中小学学籍管理暂行办法\n\n第一条 学生转学须持转出学校证明办理学籍转接手续。\n")
NEW = ("甲区学籍管理办法.txt", "甲区中小学学籍管理办法\n\n第一条 学生转学由转入学校在系统中发起学籍转接手续。\n"
                           "第二条 本办法自2024年3月1日起施行，《甲区中小学学籍管理暂行办法》同时废止。\n")


@pytest.fixture
def library(mini_corpus, tmp_path):
    """A mini library whose newer 学籍 rules are internal."""
    for name, text in (OLD, NEW):
        (mini_corpus / name).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=FakeEmbedder())
    service = Service(index, corpus_dir=mini_corpus, embedder=FakeEmbedder())
    docs, changed = service.set_visibility([_id(service, NEW[0])], "内部")
    assert changed and docs[0].source == NEW[0]
    return service


def _id(service, source: str) -> str:
    return next(d.doc_id for d in service.engine.documents() if d.source == source)


def test_the_marks_are_kept_beside_the_index_and_refuse_what_they_cannot_read(tmp_path):
    marks = VisibilityFile(tmp_path / "index.visibility.json")
    assert marks.internal() == frozenset() and marks.of("a.txt") == PUBLIC
    assert marks.set(["a.txt", "b.txt"], "内部") and marks.of("a.txt") == INTERNAL
    assert not marks.set(["a.txt"], INTERNAL)  # nothing changed
    assert marks.set(["a.txt"], "公开") and marks.internal() == {"b.txt"}
    assert VisibilityFile(marks.path).internal() == {"b.txt"}  # as another process reads it
    with pytest.raises(VisibilityError, match="内部"):
        marks.set(["a.txt"], "secret")
    marks.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(VisibilityError, match="无法读取"):  # unreadable: nobody reads as if nothing were internal
        VisibilityFile(marks.path).internal()


def test_a_veiled_engine_hides_the_internal_document_on_every_way_in(library):
    hidden = _id(library, NEW[0])
    veiled = Veiled(library.engine, library.hidden())
    assert library.hidden() == {hidden}
    assert hidden not in {d.doc_id for d in veiled.documents()}
    assert veiled.document(hidden) is None and veiled.sections(hidden) == [] and veiled.document_text(hidden) == ""
    assert veiled.section(f"{hidden}#1") is None and hidden not in (veiled.in_scope(Filters(years={2024})) or {hidden})
    assert veiled.manifest["documents"] == len(library.engine.documents()) - 1
    for filters in (None, Filters(docs={hidden}), Filters(current_only=True)):
        results = veiled.search("学籍转接手续 转入学校在系统中发起", k=10, filters=filters)
        assert all(r.doc_id != hidden for r in results)
    # the older rules are shown without the title of the internal one that replaced them
    old = next(r for r in veiled.search("学籍转接手续", k=10) if r.source == OLD[0])
    assert "学籍管理办法》废止" not in old.citation
    assert "学籍管理办法》废止" in next(r for r in library.engine.search("学籍转接手续", k=10)
                                     if r.source == OLD[0]).citation


def test_who_sees_the_internal_document(library):
    shelf = Shelf.single(library)
    hidden = _id(library, NEW[0])
    reader, insider, admin = Person("li"), Person("sun", is_insider=True), Person("zhang", is_admin=True)
    assert hidden not in {d.doc_id for d in shelf.view(reader).engine.documents()}
    assert shelf.view(reader).internal_ids() == frozenset()
    for person in (insider, admin):
        assert hidden in {d.doc_id for d in shelf.view(person).engine.documents()}
        assert shelf.view(person).internal_ids() == {hidden}
    answer = next(shelf.view(reader).ask("学生转学由谁发起学籍转接手续"))
    assert all(p.doc_id != hidden for p in answer.passages)
    library.set_visibility([hidden], "公开")  # at once, without a rebuild
    assert hidden in {d.doc_id for d in shelf.view(reader).engine.documents()}


def test_the_cli_lists_and_marks_internal_documents(library, capsys, fake_model):
    index = str(library.index_dir)
    assert main(["visibility", "--index", index, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["source"] for r in listed] == [NEW[0]]
    assert main(["visibility", "公开", NEW[0], "--index", index]) == 0
    assert "公开：甲区中小学学籍管理办法" in capsys.readouterr().err
    assert main(["visibility", "内部", "学籍", "--index", index]) == 1  # two documents match: say which
    assert "对应多个文档" in capsys.readouterr().err
    assert main(["visibility", "内部", "甲区中小学学籍管理暂行办法", "--index", index]) == 0
    capsys.readouterr()
    assert main(["documents", "--index", index, "--json"]) == 0
    records = {r["source"]: r["visibility"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert records[OLD[0]] == INTERNAL and records[NEW[0]] == PUBLIC
    audit = [json.loads(line) for line in library.audit.path.read_text(encoding="utf-8").splitlines()]
    assert [(a["action"], a["visibility"], a["via"]) for a in audit] == [("visibility", PUBLIC, "cli"),
                                                                         ("visibility", INTERNAL, "cli")]
