"""Heading patterns of Chinese official documents and the section tree they give."""

from __future__ import annotations

import pytest

from indexer.clean import clean_text
from indexer.parse import parse_text
from indexer.structure import match_heading, parse_sections

from .conftest import seed_text


def paths(paragraphs: list[str]) -> list[list[str]]:
    return [s.path for s in parse_sections(paragraphs)]


@pytest.mark.parametrize(
    "line, family, number, label, title",
    [
        ("一、抓牢政治建设，坚决维护党中央权威", "cn", 1, "一、", "抓牢政治建设，坚决维护党中央权威"),
        ("十一、全面推进党风廉政建设", "cn", 11, "十一、", "全面推进党风廉政建设"),
        ("二十三、其他事项", "cn", 23, "二十三、", "其他事项"),
        ("（一）发展学前教育。新增普惠性幼儿园5所。", "cn_paren", 1, "（一）", "发展学前教育"),
        ("(十二)保障特殊教育", "cn_paren", 12, "(十二)", "保障特殊教育"),
        ("1.切实提高政治站位。引导党员干部提高政治敏锐性。", "num", 1, "1.", "切实提高政治站位"),
        ("12．强化师德师风建设", "num", 12, "12．", "强化师德师风建设"),
        ("3、加强队伍建设。正文。", "num", 3, "3、", "加强队伍建设"),
        ("15. 深化“四责协同”，层层压实从严治党政治责任。加强党内监督", "num", 15, "15.",
         "深化“四责协同”，层层压实从严治党政治责任"),
        ("（1）做好招生工作", "num_paren", 1, "（1）", "做好招生工作"),
        ("②完善评价机制。正文", "circled", 2, "②", "完善评价机制"),
        ("第三章 劳动合同的履行和变更", "zhang", 3, "第三章", "劳动合同的履行和变更"),
        ("第二节 试用期", "jie", 2, "第二节", "试用期"),
        ("第十条 建立劳动关系，应当订立书面劳动合同。", "tiao", 10, "第十条", ""),
        ("第一百零五条 本法自公布之日起施行。", "tiao", 105, "第一百零五条", ""),
    ],
)
def test_heading_patterns(line, family, number, label, title):
    h = match_heading(line)
    assert h is not None
    assert (h.family, h.number, h.label, h.title) == (family, number, label, title)


@pytest.mark.parametrize("line", ["2.5亿元用于教育", "2023年是开局之年", "一是加强领导", "根据要求：", "（试行）"])
def test_not_headings(line):
    assert match_heading(line) is None


def test_two_levels_and_inline_heading_titles():
    p = ["总体要求是：坚持立德树人。", "一、加强党的建设", "1.严格发展党员。坚持标准。", "2.深化师德师风建设。建立承诺制。",
         "二、办好民生实事", "3.增加学位供给。新建学校。"]
    assert paths(p) == [
        ["总体要求"],
        ["一、加强党的建设"],
        ["一、加强党的建设", "1.严格发展党员"],
        ["一、加强党的建设", "2.深化师德师风建设"],
        ["二、办好民生实事"],
        ["二、办好民生实事", "3.增加学位供给"],
    ]


def test_numbering_that_restarts_under_each_part():
    p = ["一、聚焦政治建设", "1.切实提高政治站位。正文。", "2.持续强化理论武装。正文。",
         "二、聚焦基层基础", "1.压实基层工作责任。正文。", "2.加强基层组织建设。正文。"]
    sections = parse_sections(p)
    assert [s.key for s in sections] == ["1", "1.1", "1.2", "2", "2.1", "2.2"]
    assert sections[4].path == ["二、聚焦基层基础", "1.压实基层工作责任"]


def test_a_number_out_of_sequence_is_body_text():
    p = ["一、加强党的建设", "1.严格发展党员。正文。", "3、这一行只是以数字开头的正文。", "2.深化师德师风建设。正文。"]
    sections = parse_sections(p)
    assert [s.path[-1] for s in sections] == ["一、加强党的建设", "1.严格发展党员", "2.深化师德师风建设"]
    assert "3、这一行只是以数字开头的正文" in "\n".join(p)[sections[1].start:sections[1].end]


def test_opening_text_before_the_first_heading_is_a_section():
    p = ["某区教育局2023年工作要点", "2023年工作的总体要求是：办好人民满意的教育。", "一、加强党的建设"]
    sections = parse_sections(p)
    assert sections[0].path == ["总体要求"]
    assert "\n".join(p)[sections[0].start:sections[0].end] == p[1]


def test_law_chapters_and_articles_with_items_inside():
    text = (
        "# 中华人民共和国某某法\n\n2020年1月1日 第十三届全国人民代表大会常务委员会第十次会议通过\n\n"
        "## 第一章 总则\n\n第一条 为了规范管理，制定本法。\n\n第二条 下列情形适用本法：\n\n"
        "（一）第一种情形；\n\n（二）第二种情形。\n\n## 第二章 附则\n\n第三条 本法自公布之日起施行。\n"
    )
    doc = parse_text(text, "某某法.md")
    assert doc.meta.title == "中华人民共和国某某法"
    got = [(s.key, s.path) for s in doc.sections]
    assert got == [
        ("p1", ["题注"]),
        ("1", ["第一章 总则"]),
        ("1.1", ["第一章 总则", "第一条"]),
        ("1.2", ["第一章 总则", "第二条"]),
        ("2", ["第二章 附则"]),
        ("2.3", ["第二章 附则", "第三条"]),
    ]
    article2 = next(s for s in doc.sections if s.key == "1.2")
    assert "（二）第二种情形。" in doc.section_text(article2)


def test_seed_jintan_sections():
    doc = parse_text(seed_text("jintan"), "2023-金坛区委教育工委工作要点.txt")
    by_key = {s.key: s for s in doc.sections}
    assert by_key["3.7"].path == ["三、鲜明选育导向，培养堪当重任的高素质干部教师队伍", "7.持续提升发展党员工作水平"]
    assert "印发《发展党员工作注意事项》" in doc.section_text(by_key["3.7"])
    assert by_key["p1"].path == ["印发通知"]  # the cover letter
    assert by_key["p2"].path == ["总体要求"]
    # the plan's own title line opens the plan's opening section, so no line of the file is outside a section
    assert doc.section_text(by_key["p2"]).startswith("金坛区委教育工委2023年工作要点\n2023年是贯彻党的二十大精神的开局之年")
    assert len([s for s in doc.sections if len(s.path) == 2]) == 15


def test_seed_wujin2024_restarts_numbering():
    doc = parse_text(seed_text("wujin2024"), "2024-武进教育党建工作要点.txt")
    by_key = {s.key: s for s in doc.sections}
    assert by_key["3.3"].path == ["三、聚焦队伍建设，增强引领力", "3.高质量建好党员队伍"]
    assert by_key["2.1"].path[-1] == "1.压实基层工作责任"


def test_seed_wujin2023_numbers_items_on_through_parts():
    doc = parse_text(seed_text("wujin2023"), "2023-武进教育工作要点.txt")
    leaves = [s for s in doc.sections if len(s.path) == 2]
    assert len(leaves) == 27
    assert leaves[-1].path == ["六、聚焦平安稳定，持续筑牢安全防线", "27.维护校园安全稳定"]


def test_every_seed_has_its_items():
    expected = {"jintan": 15, "wujin2024": 15, "wujin2023": 27, "xqu": 6, "baoshan": 19}
    for name, n in expected.items():
        doc = parse_text(seed_text(name), name)
        assert len([s for s in doc.sections if len(s.path) == 2]) == n, name


def test_offsets_point_into_the_cleaned_text():
    cleaned = clean_text(seed_text("baoshan"))
    sections = parse_sections(cleaned.paragraphs)
    for s in sections:
        own = cleaned.text[s.start:s.end]
        assert own.strip()
        if s.path[0] != "总体要求":
            assert own.startswith(s.path[-1][:4])
