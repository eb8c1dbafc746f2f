"""The domain thesaurus, numerals as digits, and how expansions weigh in the search."""

from __future__ import annotations

import json

import pytest

from assistant.cli.commands import main
from assistant.search.expand import THESAURUS, Thesaurus, ThesaurusError, numeral_expansions, read_thesaurus
from assistant.search.index import load_index
from assistant.search.retrieve import Fusion, Searcher
from indexer.build import build_index
from indexer.embed import FakeEmbedder


def test_the_shipped_thesaurus_loads():
    entries = read_thesaurus(THESAURUS)
    assert len(entries) > 100
    t = Thesaurus(entries)
    assert {e.term for e in t.expand("孩子在学校被欺负怎么办")} >= {"欺凌", "校园欺凌"}
    assert {e.term for e in t.expand("老师办补习班收钱")} >= {"有偿补课", "校外培训"}
    assert "近视防控" in {e.term for e in t.expand("看不清黑板")}
    assert "发展党员" in {e.term for e in t.expand("老师入党")}
    assert "乡村学校" in {e.term for e in t.expand("乡下学校")}
    assert all(e.source == "欺负" for e in t.expand("被欺负") if e.term == "欺凌")
    assert t.expand("發展黨員") == t.expand("发展党员")  # traditional characters are compared as simplified


def test_words_already_in_the_question_are_not_added():
    t = Thesaurus([(("入党",), ("发展党员", "入党积极分子"))])
    assert [e.term for e in t.expand("发展党员和入党有什么区别")] == ["入党积极分子"]


@pytest.mark.parametrize("content, line, message", [
    ("孩子 => 学生\n这一行没有箭头\n", 2, "日常说法 => 文件用语"),
    ("# 注释\n\n孩子 =>\n", 3, "两边都需要"),
    ("=> 学生\n", 1, "两边都需要"),
    ("钱 => 经费\n", 1, "至少两个字"),
    ("甲 => 乙 => 丙\n", 1, "日常说法 => 文件用语"),
])
def test_bad_lines_are_reported_with_their_number(tmp_path, content, line, message):
    f = tmp_path / "词表.txt"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ThesaurusError) as e:
        read_thesaurus(f)
    assert f"第 {line} 行" in str(e.value) and message in str(e.value) and "词表.txt" in str(e.value)


def test_user_file_extends_the_thesaurus(tmp_path):
    f = tmp_path / "my.txt"
    f.write_text("小升初 => 义务教育招生, 初中入学\n", encoding="utf-8")
    t = Thesaurus.load(THESAURUS, f)
    assert "初中入学" in {e.term for e in t.expand("小升初怎么报名")}


def test_numerals_as_digits():
    assert [(e.term, e.source) for e in numeral_expansions("入党满五十年有什么荣誉")] == [("50年", "五十年")]
    assert [e.term for e in numeral_expansions("一百二十个学位")] == ["120个"]
    assert numeral_expansions("两个维护") == [] and numeral_expansions("三会一课") == []


@pytest.fixture
def searcher(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    thesaurus = Thesaurus([(("看不清", "视力"), ("近视防控", "近视率"))])
    return Searcher(load_index(index_dir), FakeEmbedder(), thesaurus=thesaurus)


def test_expansion_finds_the_official_wording_and_says_so(searcher):
    top = searcher.search("孩子看不清黑板", k=1)[0]
    assert top.section_path[-1] == "4.做好近视防控"
    assert {"term": "近视率", "from": "看不清"} in top.matched_terms


def test_expansion_words_weigh_less_than_the_question_words(searcher):
    plan = searcher.plan("视力 近视防控")
    assert "近视防控" in plan.words and "近视率" in plan.expansion_words
    rows, signals = searcher.signals(plan, searcher.index.size, None)
    lexical = Fusion(expansion_weight=0.5).parts(signals)["bm25"]
    full = Fusion(expansion_weight=1.0).parts(signals)["bm25"]
    assert lexical.max() == pytest.approx(1.0)
    assert (signals["bm25_expansions"] > 0).any()
    assert not (lexical > full + 1e-9).any()


def test_cli_thesaurus_option_and_bad_file(mini_corpus, tmp_path, fake_model, capsys):
    index_dir = tmp_path / "i"
    assert main(["index", str(mini_corpus), "--index", str(index_dir)]) == 0
    capsys.readouterr()
    extra = tmp_path / "mine.txt"
    extra.write_text("眼睛不好 => 近视防控\n", encoding="utf-8")
    assert main(["search", "学生眼睛不好", "--index", str(index_dir), "--thesaurus", str(extra), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any({"term": "近视防控", "from": "眼睛不好"} in r["matched_terms"] for r in data["results"])
    assert main(["search", "学生眼睛不好", "--index", str(index_dir), "--thesaurus", str(extra)]) == 0
    assert "匹配：" in capsys.readouterr().out
    extra.write_text("坏行\n", encoding="utf-8")
    assert main(["search", "学生", "--index", str(index_dir), "--thesaurus", str(extra)]) == 1
    assert "第 1 行" in capsys.readouterr().err
