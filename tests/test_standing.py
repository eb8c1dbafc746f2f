"""Which document is in force, how documents relate, plan series, document numbers and places
(issue 31): unit tests on small texts, and the figures on the real corpora (gold tables in tests/data)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from assistant.drafting.changes import target_changes
from assistant.search.collection import Collection
from assistant.search.series import find_series, series_key
from assistant.search.standing import IN_FORCE, NOT_YET, REPEALED, REVISED, UNKNOWN, standings
from indexer import places
from indexer.lifecycle import canonical_title, iso_date, read_lifecycle
from indexer.metadata import extract_metadata, normalise_number, signature
from indexer.store import DocumentRow

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "bench"))


def row(n: int, title: str, date: str = "", year: int | None = None, lifecycle: dict | None = None,
        region: str = "", chain: list[str] | None = None, number: str = "") -> DocumentRow:
    return DocumentRow(n, f"d{n}", f"f{n}.txt", "", title, "", number, date, year or (int(date[:4]) if date else None),
                       region, "", 0, places=chain or [], lifecycle=lifecycle or {})


# --- what one document says of itself ----------------------------------------------------

def test_effective_expiry_and_repeal_sentences_are_read_with_their_sentence():
    text = ["第三十条 本办法自2021年1月1日起施行，有效期至2023年12月31日。",
            "1990年12月24日国务院发布的《行政复议条例》同时废止。", "其他规定依照《中华人民共和国民法典》执行。"]
    facts = read_lifecycle("某某管理办法", text)
    assert facts["effective"]["when"] == "2021-01-01"
    assert facts["expires"]["when"] == "2023-12-31"
    assert [r["title"] for r in facts["repeals"]] == ["行政复议条例"]  # the code it merely cites is no repeal
    assert "同时废止" in facts["repeals"][0]["sentence"]


def test_chinese_numeral_dates_and_titles_that_amend():
    assert iso_date("本规定自二零零三年二月一日起施行") == "2003-02-01"
    assert iso_date("一九九四年十月九日") == "1994-10-09"
    assert read_lifecycle("中华人民共和国刑法修正案（十二）", [])["amends"][0]["title"] == "刑法"
    assert canonical_title(read_lifecycle("关于修改〈中华人民共和国公司法〉的决定", [])["amends"][0]["title"]) == "公司法"
    assert canonical_title("中华人民共和国 行政诉讼法") == canonical_title("行政诉讼法")


def test_a_laws_notes_give_its_date_issuer_and_order_number():
    meta = extract_metadata(["# 志愿服务条例", "2017年6月7日 国务院第175次常务会议通过",
                             "2017年8月22日 中华人民共和国国务院令第685号公布", "2017年12月1日 施行",
                             "## 第一章 总则", "第一条 为了保障志愿者……制定本条例。"], file_name="志愿服务条例(2017-08-22).md")
    assert (meta.org, meta.doc_number, meta.date, meta.year) == ("国务院", "中华人民共和国国务院令第685号", "2017-12-01", 2017)
    assert [v["what"] for v in meta.lifecycle["versions"]] == ["通过", "公布", "施行"]


def test_a_notice_signed_at_its_end():
    assert signature(["……确保各项政策措施落实到位。 人力资源社会保障部 财政部 税务总局 2020年2月20日"]) == \
        ("人力资源社会保障部、财政部、税务总局", "2020-02-20")
    assert signature(["请各单位认真落实。"]) == ("", "")


@pytest.mark.parametrize("written", ["苏教办〔2023〕12号", "苏教办[2023]12号", "苏教办(2023)12号", "苏教办（2023）第12号",
                                     "苏教办［２０２３］１２号"])
def test_one_document_number_however_its_brackets_are_written(written):
    assert normalise_number(written) == "苏教办〔2023〕12号"


def test_a_question_naming_a_number_finds_that_document():
    c = Collection([row(0, "甲", number="苏教办〔2023〕12号"), row(1, "乙", number="苏教办〔2023〕13号"),
                    row(2, "丙", number="坛教委字〔2023〕12号")])
    assert c.numbered("苏教办[2023]12号的要求") == ["d0"]
    assert set(c.numbered("（2023）12号")) == {"d0", "d2"}  # no prefix: every document of that number
    assert c.numbered("2023年12月") == []


# --- places -----------------------------------------------------------------------------------

def test_places_form_a_hierarchy_from_maintained_data():
    assert places.chain_of("金坛区") == ["江苏省", "常州市", "金坛区"]
    assert places.chain_of("朝阳区", "北京市朝阳区教委") == ["北京市", "朝阳区"]
    assert places.chain_of("朝阳区") == ["朝阳区"]  # two 朝阳区: which one the text does not say
    assert places.relation(["江苏省", "常州市", "金坛区"], "常州市") == "under"
    assert places.relation(["江苏省"], "金坛区") == "above"
    assert places.relation(["上海市", "宝山区"], "常州") == ""
    assert places.first_place("浙江：全省各地“健康码”陆续上线") == "浙江省"


def test_a_city_reaches_its_districts_and_a_provinces_document_applies_below():
    from assistant.search.query import region_match

    assert region_match("金坛区", {"常州市"}, ["江苏省", "常州市", "金坛区"])
    assert region_match("江苏省", {"金坛区"}, ["江苏省"])
    assert not region_match("宝山区", {"常州市"}, ["上海市", "宝山区"])


# --- the collection: status and relations -------------------------------------------------------

def test_versions_repeals_and_dates_give_each_document_its_status():
    docs = [
        row(0, "中华人民共和国公司法", "2018-10-26", lifecycle={"versions": [{"date": "2018-10-26", "what": "修正", "sentence": "a"}]}),
        row(1, "中华人民共和国公司法", "2023-12-29", lifecycle={"versions": [{"date": "2023-12-29", "what": "修订", "sentence": "2023年12月29日…修订"}]}),
        row(2, "个体工商户条例", "2016-02-06", lifecycle={"effective": {"when": "2011-11-01", "sentence": "自2011年11月1日起施行"}}),
        row(3, "促进个体工商户发展条例", "2022-10-01",
            lifecycle={"repeals": [{"title": "个体工商户条例", "sentence": "《个体工商户条例》同时废止。"}],
                       "effective": {"when": "2022-11-01", "sentence": "自2022年11月1日起施行"}}),
        row(4, "某办法", "2029-01-01", lifecycle={"effective": {"when": "2029-01-01", "sentence": "自2029年1月1日起施行"}}),
        row(5, "某试点方案", "2020-01-01", lifecycle={"expires": {"when": "2021-12-31", "sentence": "有效期至2021年12月31日"}}),
        row(6, "2023年工作要点", "2023-03-01"),
    ]
    s = standings(docs, dt.date(2026, 12, 6))
    assert [s[f"d{n}"].status for n in range(7)] == [REVISED, IN_FORCE, REPEALED, IN_FORCE, NOT_YET, REPEALED, UNKNOWN]
    assert s["d0"].replaced_by == "d1" and s["d2"].replaced_by == "d3"
    assert s["d2"].label == "已被《促进个体工商户发展条例》废止"
    assert s["d2"].relations[0].sentence == "《个体工商户条例》同时废止。"
    assert [r.kind for r in s["d3"].relations] == ["supersedes"]
    assert Collection(docs, dt.date(2026, 12, 6)).superseded() == {"d0", "d2"}


def test_search_results_say_a_superseded_documents_standing_in_the_citation():
    from assistant.search.collection import annotate
    from assistant.search.results import SearchResult

    docs = [row(0, "个体工商户条例", "2016-02-06"),
            row(1, "促进个体工商户发展条例", "2022-10-01",
                lifecycle={"repeals": [{"title": "个体工商户条例", "sentence": "《个体工商户条例》同时废止。"}]})]
    r = SearchResult(1, 1.0, "d0", "个体工商户条例", "f0.txt", 2016, "", "d0#1", ["第一条"], "…", 0, 1)
    annotate([r], Collection(docs))
    assert r.status == REPEALED and "已被《促进个体工商户发展条例》废止" in r.citation


# --- series and change lists ---------------------------------------------------------------------

def test_series_keep_plans_of_one_body_and_one_kind_together():
    wj = ["江苏省", "常州市", "武进区"]
    docs = [row(0, "2023年武进教育工作要点", year=2023, region="武进区", chain=wj),
            row(1, "2024年武进区教育工作要点", year=2024, region="武进区", chain=wj),
            row(2, "2024年武进教育党建工作要点", year=2024, region="武进区", chain=wj),
            row(3, "中华人民共和国公司法", "2023-12-29")]
    found = find_series(docs)
    assert found["d0"].members == ["d0", "d1"] and found["d1"] is found["d0"]
    assert "d2" not in found and "d3" not in found  # 党建 is another plan; a law's title names no year
    assert series_key(docs[3]) is None


def test_a_changed_target_is_listed_with_its_figures():
    changes = target_changes("新教师岗前培训不少于32学时，新建幼儿园5所。", "新教师岗前培训不少于40学时，新建幼儿园5所。")
    assert [(c.before, c.after) for c in changes] == [("不少于32学时", "不少于40学时")]


# --- the real corpora ------------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(not (SHARED / "corpora").is_dir(), reason="../shared/corpora is not beside the project")


@needs_shared
def test_metadata_accuracy_on_the_gold_table_meets_the_targets():
    """Field accuracy on the gold rows of the reports and the laws (the NCPQA rows need the built
    external sets; bench/bench_metadata.py prints all three)."""
    from bench_metadata import GOLD, field_accuracy, read_tsv

    table, misses = field_accuracy(read_tsv(GOLD), {"reports": SHARED / "corpora/gov_work_reports",
                                                   "laws": SHARED / "corpora/laws"})
    for f, target in {"title": 0.98, "year": 0.98, "org": 0.95, "doc_number": 0.95, "date": 0.95, "region": 0.95,
                      "status": 0.95}.items():
        right = sum(table[c][f][0] for c in table)
        total = sum(table[c][f][1] for c in table)
        assert right / total >= target, (f, right, total, [m for m in misses if m[2] == f])
    assert table["reports"]["title"] == [72, 72] and table["reports"]["date"] == [72, 72]


@needs_shared
def test_supersession_relations_on_the_laws_meet_the_targets():
    from bench_metadata import RELATIONS, read_folder, read_tsv, relation_scores

    scores = relation_scores(read_tsv(RELATIONS), read_folder(SHARED / "corpora/laws"))
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.90, scores


@needs_shared
def test_the_government_reports_form_one_series_from_1954_to_2025():
    from bench_metadata import read_folder

    docs = read_folder(SHARED / "corpora/gov_work_reports")
    series = {id(s): s for s in find_series(docs).values()}.values()
    reports = [s for s in series if s.name.endswith("政府工作报告")]
    assert len(reports) == 1
    years = [d.year for d in docs if d.doc_id in reports[0].members]
    assert len(years) == 52 and years[0] == 1954 and years[-1] == 2025 and years == sorted(years)


# --- through the command line, on the seeds indexed with the real model ----------------------------

def _run(argv, capsys):
    from assistant.cli.commands import main

    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_documents_lists_every_document_as_one_json_record(real_index, capsys):
    import json

    out = _run(["documents", "--index", str(real_index), "--json"], capsys)
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 5
    jintan = next(r for r in records if r["region"] == "金坛区")
    assert jintan["doc_number"] == "坛教委字〔2023〕20号" and jintan["places"] == ["江苏省", "常州市", "金坛区"]
    assert {"status", "status_reason", "relations", "series", "versions", "effective"} <= set(jintan)
    assert all(r["status"] == UNKNOWN for r in records)  # plans say nothing of when they take effect
    text = _run(["documents", "--index", str(real_index), "--status", "不明"], capsys)
    assert text.count("[不明]") == 5


def test_a_number_in_a_query_and_a_city_as_region_find_their_documents(real_index, capsys):
    import json

    out = json.loads(_run(["search", "坛教委字[2023]20号", "--index", str(real_index), "--json", "-k", "3"], capsys))
    assert out["results"][0]["doc_number"] == "坛教委字〔2023〕20号"
    out = json.loads(_run(["search", "党建品牌", "--region", "常州市", "--index", str(real_index), "--json"], capsys))
    assert out["results"] and {r["region"] for r in out["results"]} <= {"金坛区", "武进区"}


def test_changes_between_two_real_plans(real_index, tmp_path, capsys):
    import json

    out = json.loads(_run(["changes", "2023年武进教育工作要点", "2024年武进教育党建工作要点", "--index", str(real_index),
                           "--json", "--export", str(tmp_path / "变化.docx")], capsys))
    counts = out["counts"]
    assert counts["新增"] > 0 and counts["删除"] > 0 and counts["调整"] > 0
    assert counts["沿用"] + counts["调整"] + counts["新增"] == len([i for i in out["items"] if i["after"]])
    reworded = [i for i in out["items"] if i["change"] == "调整"]
    assert all(i["before"] and i["after"] and i["ops"] for i in reworded)
    assert (tmp_path / "变化.docx").stat().st_size > 0


def test_a_draft_is_labelled_against_the_previous_plan_of_its_series(real_index, tmp_path, capsys):
    import json

    from .conftest import CORPUS

    plan = (CORPUS / "2023-武进教育工作要点.txt").read_text(encoding="utf-8")
    draft = plan.replace("2023年武进教育工作要点", "2025年武进教育工作要点", 1)
    draft = draft.replace("8.提升装备水平", "8.提升装备水平。全区新建智慧教室不少于40间。", 1)
    (tmp_path / "草稿.txt").write_text(draft + "\n七、聚焦未来教育\n28.开展人工智能通识教育。每所中学开设人工智能课程。\n",
                                       encoding="utf-8")
    out = json.loads(_run(["draft-check", str(tmp_path / "草稿.txt"), "--index", str(real_index), "--json"], capsys))
    assert out["comparable"]["title"] == "2023年武进教育工作要点" and "系列" in out["reason"]
    labels = [i["change"] for i in out["items"]]
    assert labels.count("沿用") >= 20 and labels[-1] == "新增"
