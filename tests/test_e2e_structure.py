"""Real model, real documents beyond the seeds: laws found by article number, and
traditional and simplified characters finding each other."""

from __future__ import annotations

import shutil

import pytest

from assistant.search.index import load_index
from assistant.search.retrieve import Searcher
from indexer.build import build_index

from .conftest import SEED, SHARED

pytestmark = pytest.mark.model
LAWS = SHARED / "corpora" / "laws"
REPORTS = SHARED / "corpora" / "gov_work_reports"


@pytest.fixture(scope="module")
def mixed_searcher(tmp_path_factory):
    files = [LAWS / "社会法" / "劳动合同法(2012-12-28).md", LAWS / "行政法规" / "劳动合同法实施条例(2008-09-18).md",
             REPORTS / "1954年中华人民共和国国务院政府工作报告.txt"]
    if not all(f.exists() for f in files):
        pytest.skip("../shared/corpora not available")
    corpus = tmp_path_factory.mktemp("mixed") / "corpus"
    corpus.mkdir()
    for f in files + [SEED["jintan"], SEED["wujin2024"]]:
        shutil.copy(f, corpus / f.name)
    index_dir = corpus.parent / "index"
    build_index(corpus, index_dir)
    return Searcher(load_index(index_dir))


@pytest.mark.parametrize("query", ["劳动合同法 第十条", "劳动合同法第10条", "《中华人民共和国劳动合同法》第十条"])
def test_article_by_number_comes_first(mixed_searcher, query):
    top = mixed_searcher.search(query, k=3)[0]
    assert top.title == "中华人民共和国劳动合同法"
    assert top.section_path == ["第二章 劳动合同的订立", "第十条"]
    assert top.text.startswith("第十条 建立劳动关系，应当订立书面劳动合同。")


def test_article_of_the_regulation_not_the_law(mixed_searcher):
    top = mixed_searcher.search("劳动合同法实施条例 第十条", k=3)[0]
    assert top.title == "中华人民共和国劳动合同法实施条例" and top.section_path[-1] == "第十条"


def test_simplified_query_finds_traditional_text(mixed_searcher):
    top = mixed_searcher.search("第一个五年计划集中主要力量发展重工业", k=3)[0]
    assert top.title.startswith("1954年")
    assert "重工業" in top.text  # the text is shown as written


def test_traditional_query_finds_simplified_text(mixed_searcher):
    top = mixed_searcher.search("發展黨員有哪些要求", k=3)
    assert any(r.section_path[-1] == "7.持续提升发展党员工作水平" for r in top)
