"""Title block metadata: what the document says, nothing invented."""

from __future__ import annotations

import pytest

from indexer.clean import clean_text
from indexer.metadata import extract_metadata

from .conftest import seed_text


def meta_of(name: str):
    cleaned = clean_text(seed_text(name))
    return extract_metadata(cleaned.paragraphs, cleaned.print_date)


def test_notice_that_issues_a_plan():
    m = meta_of("jintan")
    assert m.title == "金坛区委教育工委2023年工作要点"
    assert m.org == "中共常州市金坛区委教育工作委员会"
    assert m.doc_number == "坛教委字〔2023〕20号"
    assert m.date == "2023-04-25"
    assert m.year == 2023
    assert m.region == "金坛区"
    assert m.doc_type == "工作要点"


def test_red_header_document():
    m = meta_of("baoshan")
    assert m.org == "中共上海市宝山区教育工作委员会"
    assert m.doc_number == "宝教党〔2020〕1号"
    assert m.date == "2020-03-12"  # from the print footer
    assert (m.year, m.region, m.doc_type) == (2020, "宝山区", "工作要点")


@pytest.mark.parametrize("name, year", [("wujin2024", 2024), ("wujin2023", 2023)])
def test_plain_title_missing_fields_stay_empty(name, year):
    m = meta_of(name)
    assert m.year == year
    assert m.region == "武进区"  # 武进 in the title, 区 from 全区 in the text
    assert m.doc_number == "" and m.date == "" and m.org == ""


def test_anonymised_district_as_written():
    m = meta_of("xqu")
    assert m.title == "区教育局2023年全面从严治党工作要点"
    assert m.region == "X区"
    assert m.doc_number == ""


def test_no_region_is_invented():
    m = extract_metadata(["关于做好2024年招生工作的通知", "各学校：现将有关事项通知如下。"])
    assert m.region == ""
    assert m.doc_type == "通知"
    assert m.year == 2024


def test_every_statute_of_a_slice_of_the_laws_corpus_is_titled_by_its_law():
    """The `# 标题` line names a law; a line that merely looks like a title (an adoption note
    naming a 决定 or a 公告, a chapter heading) does not; a part of a code is titled as such."""
    import re
    from pathlib import Path

    from indexer.parse import parse_text
    from indexer.read import read_document
    from indexer.textutil import match_key

    laws = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "laws"
    if not laws.is_dir():
        pytest.skip("../shared/corpora/laws not available")
    files = [p for folder in ("民法典", "宪法", "行政法规", "司法解释", "社会法")
             for p in sorted((laws / folder).glob("*.md"))[::6]]
    assert len(files) > 40
    for path in files:
        doc = parse_text(read_document(path), path.relative_to(laws).as_posix())
        law = match_key(re.sub(r"\(\d{4}-\d\d-\d\d\)$", "", path.stem).replace("中华人民共和国", ""))
        title = match_key(doc.meta.title.replace("中华人民共和国", ""))
        assert law in title or title in law, (path.name, doc.meta.title)
    code_part = parse_text(read_document(laws / "民法典" / "合同编.md"), "民法典/合同编.md").meta.title
    assert code_part == "中华人民共和国民法典 合同编"
    assert parse_text(read_document(laws / "宪法" / "宪法.md"), "宪法/宪法.md").meta.title == "中华人民共和国宪法"


def test_front_matter_is_not_the_title():
    from indexer.parse import parse_text

    doc = parse_text("---\nbookCollapseSection: true\ntitle: 部门规章\n---\n第一条 为了规范管理，制定本办法。\n",
                     "部门规章/_index.md")
    assert doc.meta.title == "部门规章" and "bookCollapseSection" not in doc.text
    doc = parse_text("---\ntitle: 部门规章\n---\n# 某某管理办法\n\n第一条 为了规范管理，制定本办法。\n", "x.md")
    assert doc.meta.title == "某某管理办法"  # the document's own `# 标题` first
    doc = parse_text("---\nweight: 3\n---\n# 某某管理办法\n\n第一条 为了规范管理，制定本办法。\n", "某某管理办法(2020-01-01).md")
    assert doc.meta.title == "某某管理办法" and "weight" not in doc.text
    doc = parse_text("第一条 为了规范管理，制定本办法。\n第二条 本办法自公布之日起施行。\n", "某某管理办法(2020-01-01).md")
    assert doc.meta.title == "某某管理办法"


def test_a_report_dated_in_its_subtitle_keeps_its_full_title_and_year():
    paragraphs = ["2023年中华人民共和国国务院政府工作报告", "政府工作报告",
                  "——2023年3月5日在第十四届全国人民代表大会第一次会议上", "国务院总理　李克强", "各位代表：",
                  "一、过去一年和五年工作回顾"]
    meta = extract_metadata(paragraphs, file_name="report.txt")
    assert meta.title == "2023年中华人民共和国国务院政府工作报告"
    assert (meta.date, meta.year) == ("2023-03-05", 2023)


def test_the_file_name_gives_the_year_when_nothing_else_does():
    paragraphs = ["关于做好课后服务的通知", "各学校：", "一、总体要求", "做好课后服务。"]
    assert extract_metadata(paragraphs, file_name="2025-丙区通知.txt").year == 2025
    assert extract_metadata(paragraphs, file_name="丙区通知.txt").year is None


def test_a_news_headline_is_the_title_and_an_id_named_file_gets_its_opening_words():
    from indexer.parse import parse_text

    headline = parse_text("医疗物资供应怎么保障？医护人员工作条件怎么改善？最新回应！\n2月14日下午，国务院联防联控机制召开新闻发布会。\n",
                          "5e09fad8206c382286e227db61176df7.txt")
    assert headline.meta.title == "医疗物资供应怎么保障？医护人员工作条件怎么改善？最新回应！"
    runon = parse_text("全是干货！重庆税务十项举措为企业纾困解难 今（12）日，记者从重庆市政府新闻发布会上获悉，重庆市税务局出台十项举措。",
                       "26b7ff16d5713533ac14d6c20273671d.txt")
    assert runon.meta.title == "全是干货！重庆税务十项举措为企业纾困解难"
    # a speech's address is not a headline, and a meaningful file name is still the last resort
    speech = parse_text("同志们！\n今天我们召开全区教育工作会议，部署今年的工作。\n", "2024-全区教育工作会议讲话.txt")
    assert speech.meta.title == "2024-全区教育工作会议讲话"


@pytest.mark.parametrize("title, region", [
    ("关于印发顺义区进一步打好疫情防控阻击战若干措施的通知", "顺义区"),  # the verb before the name cut off
    ("泰州市暂停海陵区企业复工的通知", "海陵区"),
    ("瀍河回族区念好“五字诀”持续强化疫情防控市场监管", "瀍河回族区"),
    ("经开区团工委关于募捐的倡议书", "经开区"),
    ("宁夏：民政服务机构全面设立传染病隔离区", "宁夏回族自治区"),  # 隔离区 is no district; the province it opens with is the place
    ("中华人民共和国自然保护区条例", ""),
    ("中华人民共和国专属经济区和大陆架法", ""),
    ("关于保障制造业企业区外用工的若干措施", ""),  # 区外: 区 begins another word
    ("全国人民代表大会和县级以上地方各级人民代表大会选举法", ""),
    ("全国人民代表大会常务委员会关于县级以下人民代表大会代表直接选举的若干规定", ""),
])
def test_a_region_is_a_place_the_title_names(title, region):
    assert extract_metadata([title, "各单位：现将有关事项通知如下。"]).region == region


def test_every_government_work_report_is_titled_and_dated_as_its_file():
    """The 52 reports of ../shared/corpora/gov_work_reports: a report's first section after `各位代表：`
    (`首先报告２００１年的工作`, `关于国内建设`) or its first sentence is not its title."""
    from indexer.parse import parse_text

    from .conftest import SHARED

    reports = sorted(f for f in (SHARED / "corpora" / "gov_work_reports").glob("*政府工作报告*.txt") if "决议" not in f.name)
    if not reports:
        pytest.skip("../shared/corpora not available")
    wrong = []
    for f in reports:
        meta = parse_text(f.read_text(encoding="utf-8"), f.name).meta
        if meta.title != f.stem or meta.year != int(f.name[:4]) or meta.doc_type != "工作报告":
            wrong.append(f"{f.name}: {meta.title} {meta.year} {meta.doc_type}")
    assert len(reports) == 52 and not wrong, "\n".join(wrong)


def test_a_title_over_two_lines_and_a_notice_issuing_a_plan_after_its_office():
    from indexer.metadata import extract_metadata

    two = extract_metadata(["关于加强污染防治资金管理", "支持打赢疫情防控阻击战的通知", "财资环〔2020〕3号",
                            "各省、自治区、直辖市财政厅（局）：", "为深入贯彻落实……"])
    assert two.title == "关于加强污染防治资金管理支持打赢疫情防控阻击战的通知"
    issued = extract_metadata(["南充市人民政府办公室关于印发《南充市“菜篮子”市长负责制考核工作实施细则》的通知",
                               "各县（市、区）人民政府：", "现印发你们，请遵照执行。"])
    assert issued.title == "南充市“菜篮子”市长负责制考核工作实施细则"
