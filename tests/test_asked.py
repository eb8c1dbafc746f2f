"""What a question asks for, relative time, and the answer built from search's own passages."""

from __future__ import annotations

import json

import pytest

from assistant.answers.answer import Answerer
from assistant.answers.asked import CONDITION, DATE, MEASURES, NUMBER, ORG, about_subject, asked, gives
from assistant.answers.when import reference_year, relative_years
from assistant.cli.commands import main
from assistant.search.retrieve import Filters, Searcher
from indexer.build import build_index
from indexer.embed import FakeEmbedder


@pytest.mark.parametrize("question, kind, unit", [
    ("今年教师培训有多少学时要求", NUMBER, "学时"),
    ("武进2023年计划增加多少学位", NUMBER, "学位"),
    ("新建几所学校", NUMBER, "所"),
    ("近视率下降的比例是多少", NUMBER, ""),
    ("申报截止到什么时候", DATE, ""),
    ("哪个部门负责校车安全", ORG, ""),
    ("民办学校能不能收取赞助费", CONDITION, ""),
    ("孩子在学校被欺负怎么办", MEASURES, ""),
    ("发展党员", None, ""),
])
def test_what_a_question_asks_for(question, kind, unit):
    a = asked(question, [])
    assert (a.kind, a.unit) == (kind, unit)


def test_a_figure_must_be_about_the_question_subject():
    a = asked("今年教师培训有多少学时要求", ["教师", "培训", "学时"])
    assert a.subject == ["教师", "培训"]
    party = "党员每年集中学习培训时间一般不少于32学时。"
    assert gives(a, party) and not about_subject(a, party, "宝山区教育工委工作要点7.从严教育管理")
    teachers = "新教师岗前培训不少于120学时。"
    assert gives(a, teachers) and about_subject(a, teachers, "乙县教育工作要点")
    assert "没有找到教师培训的具体学时数" in a.gap_message()
    places = asked("武进2023年计划增加多少学位", ["武进", "计划", "学位"])
    assert gives(places, "计划增加学位超12000个。") and gives(places, "新增12000个学位。")
    assert about_subject(places, "计划增加学位超12000个。", "2023年武进教育工作要点")


@pytest.mark.parametrize("question, years, label", [
    ("今年教师培训有多少学时要求", {2024}, "按 2024 年理解"),
    ("去年发展了多少党员", {2023}, "按 2023 年理解"),
    ("明年计划", {2025}, "按 2025 年理解"),
    ("近三年新建了几所学校", {2022, 2023, 2024}, "按 2022—2024 年理解"),
    ("2023年发展党员", set(), ""),
])
def test_relative_time_against_the_newest_year(question, years, label):
    hint = relative_years(question, 2024)
    assert hint.years == years and hint.label == label


def test_the_reference_year():
    assert reference_year([2020, None, 2023]) == 2023
    assert reference_year([2020, 2023], today="2026-03-01") == 2026
    assert reference_year([]) is None


@pytest.fixture
def answerer(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    from assistant.search.index import load_index

    return Answerer(Searcher(load_index(index_dir), FakeEmbedder()))


def test_the_answer_uses_search_passages_in_search_order(answerer):
    question = "加强教师培训和师德师风"
    ans = answerer.answer(question)
    assert ans.status == "ok"
    search = answerer.searcher.search(question, k=5)
    assert [p.section_id for p in ans.passages] == [r.section_id for r in search]
    cited = [n for p in ans.points for n in p.citations[:1]]
    assert cited == sorted(cited)  # points in the passages' order


def test_a_question_this_year_keeps_to_the_newest_documents(answerer):
    question = "今年的工作要点有哪些"
    ans = answerer.answer(question)
    assert ans.understood == "按 2024 年理解"
    assert ans.passages and {p.year for p in ans.passages} == {2024}  # the scope is a constraint
    assert ans.scope["years"] == [2024] and ans.scope["met"] is True


def test_search_can_still_prefer_a_year_without_filtering(answerer):
    """`Filters.prefer_years`: for callers of search that want a preference, not a scope."""
    question = "今年的工作要点有哪些"

    def search(prefer: int, k: int = 6) -> list:
        return answerer.searcher.search(question, k=k, filters=Filters(prefer_years={prefer}))

    assert {r.year for r in search(2024)} == {2023, 2024}

    def first(year: int, prefer: int) -> int:
        return next(i for i, r in enumerate(search(prefer)) if r.year == year)

    # a preferred year's passages come earlier than when the other year is preferred
    assert first(2024, 2024) < first(2024, 2023) and first(2023, 2023) <= first(2023, 2024)


def test_a_gap_is_said_first(answerer):
    ans = answerer.answer("普惠性幼儿园有多少学时")
    assert ans.status == "ok" and ans.gap.startswith("文件中没有找到")


def test_ask_batch_json(mini_corpus, tmp_path, capsys, fake_model):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps({"question": q}, ensure_ascii=False) for q in ("发展党员", "？？")) + "\n",
                     encoding="utf-8")
    assert main(["ask", "--batch", str(batch), "--index", str(index_dir), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["line"] == 1 and rows[0]["status"] == "ok" and rows[0]["points"]
    assert rows[1]["line"] == 2 and rows[1]["status"] == "no_content"
