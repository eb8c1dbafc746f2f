"""Questions of every kind, answered with the real model over the real seeds and a slice of the
government work reports: scope kept or said to be missing, overviews and counts from the headings,
which documents and years from the whole collection, comparisons side by side."""

from __future__ import annotations

import re
import shutil

import pytest

from assistant.answers.answer import Answerer
from assistant.search.index import load_index
from assistant.search.retrieve import Searcher
from indexer.build import build_index

from .conftest import SHARED

pytestmark = pytest.mark.model
REPORTS = SHARED / "corpora" / "gov_work_reports"
SLICE = [2013, 2015, 2016, 2018, 2019, 2023, 2024, 2025]
RESOLUTION = "第十四届全国人民代表大会第三次会议关于政府工作报告的决议.txt"


@pytest.fixture(scope="module")
def seeds(real_searcher):
    return Answerer(real_searcher)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    files = [REPORTS / f"{y}年中华人民共和国国务院政府工作报告.txt" for y in SLICE] + [REPORTS / RESOLUTION]
    if not all(f.exists() for f in files):
        pytest.skip("../shared/corpora/gov_work_reports not available")
    corpus = tmp_path_factory.mktemp("reports") / "corpus"
    corpus.mkdir()
    for f in files:
        shutil.copy(f, corpus / f.name)
    build_index(corpus, corpus.parent / "index")
    return Answerer(Searcher(load_index(corpus.parent / "index"))), corpus


def cited(ans):
    numbers = {n for p in ans.points for n in p.citations}
    return [r for r in ans.passages if r.rank in numbers]


def test_an_overview_lists_the_documents_top_headings(seeds):
    ans = seeds.answer("金坛区委教育工委2023年工作要点有哪几个方面")
    assert ans.kind == "overview" and "5个方面" in ans.lead
    assert [p.citations for p in ans.points] == [[1], [2], [3], [4], [5]]
    assert all(r.title == "金坛区委教育工委2023年工作要点" and len(r.section_path) == 1 for r in ans.passages)
    assert ans.points[1].text.startswith("二、建强战斗堡垒")


def test_a_count_counts_the_numbered_items_and_lists_them(seeds):
    ans = seeds.answer("2023年武进教育工作要点一共列了多少条")
    assert ans.kind == "count" and "27条" in ans.lead and len(ans.points) == 27
    assert ans.points[-1].text == "27.维护校园安全稳定"


def test_which_documents_reads_every_document_in_scope(seeds, real_searcher):
    ans = seeds.answer("统战工作在哪几个文件里出现")
    expected = {d.title for d in real_searcher.documents() if "统战" in real_searcher.document_text(d.doc_id)}
    assert ans.kind == "which" and len(expected) == 3
    assert {r.title for r in cited(ans)} == expected and all("统战" in r.text for r in cited(ans))
    assert all(f"《{t}》" in ans.lead for t in expected)


def test_which_places_mention_something_is_not_a_refusal(seeds):
    ans = seeds.answer("哪些区的文件提到了课后服务")
    assert ans.status == "ok" and "金坛区" in ans.lead


def test_a_missing_year_is_said_first_and_the_nearest_is_labelled(seeds):
    ans = seeds.answer("2021年宝山区的工作要点讲了什么")
    assert ans.gap.startswith("索引中没有2021年宝山区的工作要点。") and "2020年" in ans.gap
    assert ans.scope["met"] is False and ans.scope["substituted"] == "2020年宝山区的工作要点"
    assert ans.passages and all(r.year == 2020 and r.region == "宝山区" for r in ans.passages)
    data = ans.to_json()
    assert data["scope"]["years"] == [2021] and data["scope"]["met"] is False


def test_a_place_not_in_the_index_gets_no_other_places_text(seeds):
    ans = seeds.answer("2022年朝阳区的工作要点提了哪些任务")
    assert ans.status == "not_found" and "朝阳区" in ans.message and not ans.passages


def test_a_year_in_scope_is_a_constraint_not_a_hint(seeds):
    ans = seeds.answer("2024年发展党员有哪些要求")
    assert ans.status == "ok" and ans.scope["met"] and all(r.year == 2024 for r in ans.passages)


def test_a_comparison_gives_each_side_from_its_own_documents(seeds):
    ans = seeds.answer("宝山区和金坛区在三会一课上的要求有什么不同")
    assert ans.kind == "compare" and [row["side"] for row in ans.table] == ["宝山区", "金坛区"]
    for row in ans.table:
        sides = {ans.passages[c - 1].region for c in row["citations"]}
        assert sides == {row["side"]}
    assert all("三会一课" in ans.passages[row["citations"][0] - 1].text for row in ans.table)


def test_the_latest_is_the_newest_document_that_speaks_of_it(seeds):
    seeds.set_today("2024-06-01")
    try:
        ans = seeds.answer("最新的武进区文件对师德建设有什么要求")
    finally:
        seeds.set_today(None)
    assert ans.lead.startswith("最新的是2024年") and {r.title for r in ans.passages} == {"2024年武进教育党建工作要点"}


def test_a_report_year_that_does_not_exist(reports):
    answerer, _ = reports
    ans = answerer.answer("2026年政府工作报告的经济增长目标是多少")
    assert "没有2026年的政府工作报告" in ans.gap and "2025年" in ans.gap
    assert all(r.year == 2025 for r in ans.passages)
    # the 2025 report's own 今年 is shown as 2025, never as the year asked
    assert any("今年（2025年）" in p.text for p in ans.points) and "今年（2026年）" not in ans.plain_text()


def test_the_items_under_a_named_heading(reports):
    answerer, _ = reports
    ans = answerer.answer("2024年政府工作任务分为几个方面")
    assert ans.kind == "count" and "10" in ans.lead and len(ans.points) == 10
    assert all(r.section_path[0] == "三、2024年政府工作任务" for r in ans.passages)


def test_which_years_lists_every_year_and_leaves_out_resolutions(reports):
    answerer, corpus = reports
    ans = answerer.answer("哪些年份的政府工作报告提到了乡村振兴")
    expected = sorted(int(f.name[:4]) for f in corpus.glob("*政府工作报告.txt") if "乡村振兴" in f.read_text(encoding="utf-8"))
    assert expected and [int(y) for y in re.findall(r"\d{4}", ans.lead.split("：", 1)[1])] == expected
    assert all(r.year in expected for r in cited(ans))


def test_the_first_year_a_phrase_appears(reports):
    answerer, corpus = reports
    ans = answerer.answer("政府工作报告最早在哪一年提到一带一路")
    first = min(int(f.name[:4]) for f in corpus.glob("*政府工作报告.txt") if "一带一路" in f.read_text(encoding="utf-8"))
    assert ans.kind == "first" and ans.lead.startswith(f"最早在{first}年") and cited(ans)[0].year == first


def test_a_series_gives_each_year_side_by_side(reports):
    answerer, _ = reports
    answerer.set_today("2025-06-01")
    try:
        ans = answerer.answer("近两年政府工作报告的居民消费价格涨幅目标是多少")
    finally:
        answerer.set_today(None)
    assert ans.kind == "series" and [row["side"] for row in ans.table] == ["2024年", "2025年"]
    assert ans.understood == "按 2024—2025 年理解"
    for row in ans.table:
        assert {ans.passages[c - 1].year for c in row["citations"]} == {int(row["side"][:4])}
    assert "3%左右" in ans.table[0]["text"] + ans.table[1]["text"]


def test_the_cli_prints_the_kinds_json_and_evaluates_the_kinds_format(real_index, tmp_path, capsys):
    import json

    from assistant.cli.commands import main

    assert main(["ask", "2024年武进教育党建工作要点分为几个部分", "--index", str(real_index), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "count" and "4个部分" in data["lead"] and data["scope"]["met"] is True
    gold = tmp_path / "kinds.jsonl"
    gold.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "a", "corpus": "seeds", "kind": "count", "question": "2024年武进教育党建工作要点分为几个部分",
         "must_any": [["四", "4"]], "cite": ["2024年武进"]},
        {"id": "b", "corpus": "seeds", "kind": "gap", "question": "2021年宝山区的工作要点讲了什么", "gap": ["2021"]},
        {"id": "c", "corpus": "seeds", "kind": "gap", "question": "发展党员有哪些要求", "gap": ["2021"]},
        {"id": "d", "corpus": "reports", "kind": "fact", "question": "2025年赤字率安排是多少", "must": ["4%左右"]},
    ]), encoding="utf-8")
    assert main(["eval", str(gold), "--corpus", f"seeds={real_index}", "--json", "-v"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["passed"] == 2 and result["questions"] == 3 and result["skipped"] == ["d"]
    assert [r["id"] for r in result["details"] if not r["passed"]] == ["c"]


def test_which_documents_there_are(seeds, real_searcher):
    ans = seeds.answer("2023年有哪些工作要点")
    expected = {d.title for d in real_searcher.documents() if d.year == 2023}
    assert ans.kind == "catalogue" and f"{len(expected)}份" in ans.lead and {r.title for r in cited(ans)} == expected
    ans = seeds.answer("2026年有哪些工作要点")
    assert ans.status == "not_found" and ans.message.startswith("索引中没有2026年的工作要点。最接近的是2024年")
