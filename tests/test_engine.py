"""The search-engine interface: the assistant runs unchanged on another backend.

`memory_engine.MemoryEngine` knows nothing of FAISS, BM25 or SQLite; answers, precedents,
comparison, draft check, the document view, the CLI and the page's service all run on it.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from assistant.answers.answer import Answerer
from assistant.cli.commands import main
from assistant.drafting.compare import compare_sections
from assistant.drafting.draft import check_draft
from assistant.drafting.precedents import find_precedents
from assistant.office.library import LibraryError, list_documents
from assistant.office.service import Service
from assistant.present.render import document_html
from assistant.search import engine as engines
from assistant.search.engine import EngineNotFound, SearchEngine, open_engine
from assistant.search.index import load_index
from assistant.search.retrieve import Filters, Searcher
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .conftest import MINI_DOCS
from .memory_engine import open_engine as open_memory


@pytest.fixture
def memory(mini_corpus, monkeypatch):
    monkeypatch.setitem(engines._registered, "memory", open_memory)
    return f"memory://{mini_corpus}"


def test_both_engines_satisfy_the_interface(memory, mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "index", embedder=FakeEmbedder())
    local = Searcher(load_index(tmp_path / "index"), FakeEmbedder())
    assert isinstance(local, SearchEngine)
    assert isinstance(open_engine(memory), SearchEngine)
    assert not isinstance(object(), SearchEngine)


def test_local_and_memory_engines_agree_on_the_catalogue(memory, mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "index", embedder=FakeEmbedder())
    local = open_engine(tmp_path / "index", embedder=FakeEmbedder())
    other = open_engine(memory)
    assert {d.doc_id for d in local.documents()} == {d.doc_id for d in other.documents()}
    for d in local.documents():
        assert [s.path for s in local.sections(d.doc_id)] == [s.path for s in other.sections(d.doc_id)]
        assert [s.has_text for s in local.sections(d.doc_id)] == [s.has_text for s in other.sections(d.doc_id)]
        assert local.document_text(d.doc_id) == other.document_text(d.doc_id)


def test_answers_precedents_comparison_and_document_view_on_another_engine(memory):
    eng = open_engine(memory)
    answerer = Answerer(eng)
    ans = answerer.answer("发展党员有哪些要求")
    assert ans.status == "ok" and ans.points
    assert "1.严格发展党员" in ans.passages[0].citation

    ps = find_precedents(answerer, "师德师风建设")
    assert [p.section.section_id.split("#")[1] for p in ps.precedents] == ["1.2"]
    assert "建立师德师风承诺制" in ps.precedents[0].section.text
    assert {d.year for d in ps.not_covered} == {2024}  # 乙县 has no such item

    a, b = ps.precedents[0].section.section_id, ans.passages[0].section_id
    cmp = compare_sections(eng, a, b)
    assert cmp.a.text and cmp.b.text and cmp.ops

    docs = list_documents(eng)
    assert sorted(d.year for d in docs) == [2023, 2024] and all(d.sections >= 3 for d in docs)
    doc_id, key = ans.passages[0].section_id.split("#")
    page = document_html(eng, doc_id, key)
    assert "严格发展党员" in page and "pq-target" in page


def test_draft_check_on_another_engine(memory):
    draft = MINI_DOCS["2023-甲区教育工作要点.txt"].replace("2023", "2024")
    draft = "\n".join(line for line in draft.splitlines() if "近视" not in line)
    report = check_draft(Answerer(open_engine(memory)), draft, Filters(years={2023}))
    assert report.comparable is not None and report.comparable.year == 2023
    assert [m.path[-1][:6] for m in report.missing] == ["4.做好近视"]


def test_cli_and_service_on_another_engine(memory, capsys):
    assert main(["search", "增加学位", "--index", memory, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"][0]["section_path"][-1].startswith("3.增加学位供给")

    assert main(["index", "--index", memory]) == 1
    assert "没有能写入 memory 的搜索后端" in capsys.readouterr().err

    service = Service(memory)
    assert service.search("学前教育")[0].region.startswith("乙县")
    with pytest.raises(LibraryError, match="没有能写入 memory 的搜索后端"):
        service.upload([], None)


def test_unknown_backend_is_a_clear_message(capsys):
    with pytest.raises(EngineNotFound, match="policyqa.engines"):
        open_engine("nosuch://host/index")
    assert main(["search", "发展党员", "--index", "nosuch://host/index"]) == 1
    err = capsys.readouterr().err
    assert "nosuch://" in err and "Traceback" not in err


def test_backend_found_through_its_entry_point(mini_corpus, tmp_path, monkeypatch):
    """A backend installed as a package registers under `policyqa.engines`; nothing else is needed."""
    site = tmp_path / "site"
    dist = site / "policyqa_memory-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: policyqa-memory\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[policyqa.engines]\nmem = policyqa_memory:open_engine\n")
    (site / "policyqa_memory.py").write_text(textwrap.dedent("""
        from tests.memory_engine import open_engine
    """))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "policyqa_memory", raising=False)
    assert "mem" in engines.available_schemes()
    eng = open_engine(f"mem://{mini_corpus}")
    assert eng.search("近视防控")[0].section_path[-1].startswith("4.做好近视防控")
