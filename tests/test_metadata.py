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
