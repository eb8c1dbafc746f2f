"""Each extraction artifact found in the seeds, cleaned without losing body text."""

from __future__ import annotations

import pytest

from indexer.clean import (
    assemble_paragraphs,
    clean_text,
    fix_displaced_quotes,
    normalize_characters,
    normalize_paragraph,
    wrap_width,
)
from indexer.textutil import match_key

from .conftest import SEED, seed_text


def body_lines_kept(raw: str) -> list[str]:
    """Raw lines (minus recognised chrome) whose text is not found in the cleaned text."""
    cleaned = clean_text(raw)
    key = match_key(cleaned.text)
    removed = [match_key(r) for r in cleaned.removed]
    lost = []
    for line in normalize_characters(raw).split("\n"):
        k = match_key(line)
        if k and k not in key and not any(k in r for r in removed):
            lost.append(line)
    return lost


@pytest.mark.parametrize("name", list(SEED))
def test_no_sentence_of_the_body_is_lost(name):
    assert body_lines_kept(seed_text(name)) == []


# --- seed 000: PDF with hard line breaks, blank lines between lines, page furniture ---

def test_hard_line_breaks_and_blank_lines_are_joined():
    raw = (
        "1.始终坚持政治建设首要位置\n\n"
        "深入开展习近平新时代中国特色社会主义思想主题教育，\n\n"
        "在学深弄懂悟透做实上下功夫，在结合教育实际创造性贯彻落\n\n"
        "实上下功夫，使科学理论真正转化为坚定理想、锤炼党性、指\n\n"
        "导实践、推动工作的强大力量。深刻把握党的创新理论的世界\n"
        " 观和方法论，深刻领悟人民至上。\n\n"
        "2.始终突出理论武装凝心铸魂\n\n"
        "坚持把学习宣传贯彻党的二十大精神作为首要政治任务。\n"
    ) * 2
    paragraphs = clean_text(raw).paragraphs
    assert "1.始终坚持政治建设首要位置" in paragraphs
    assert any(p.startswith("深入开展") and "创造性贯彻落实上下功夫" in p and "世界观和方法论" in p
               for p in paragraphs)


def test_page_number_and_print_footer_are_removed():
    text = seed_text("jintan")
    cleaned = clean_text(text)
    assert "—4—" in cleaned.removed
    assert any("印发" in r for r in cleaned.removed)
    assert "—4—" not in cleaned.text
    assert "2023年4月25日印发" not in cleaned.text
    assert cleaned.print_date == "2023-04-25"
    # the sentence the page break cut in two is whole again
    assert "宣传阵地出口的严密把控。" in cleaned.text


def test_page_number_forms():
    raw = "第一段没有结束，\n\n- 12 -\n\n接着写完。\n第 3 页 共 9 页\n另一段。\n"
    cleaned = clean_text(raw)
    assert cleaned.paragraphs == ["第一段没有结束，接着写完。", "另一段。"]
    assert set(cleaned.removed) == {"- 12 -", "第 3 页 共 9 页"}


def test_space_left_where_a_page_joined():
    cleaned = clean_text(seed_text("jintan"))
    assert "世界观和方法论" in cleaned.text
    assert "世界 观" not in cleaned.text


# --- seed 004: a page break splits a numbered item ---

def test_page_break_inside_an_item_belongs_to_the_item():
    cleaned = clean_text(seed_text("baoshan"))
    item2 = next(p for p in cleaned.paragraphs if p.startswith("2.筑牢思想根基"))
    assert "往心里走、往实里走，牢牢把握社会主义办学方向" in item2
    item8 = next(p for p in cleaned.paragraphs if p.startswith("8.做强党建品牌"))
    assert "规范化、科学化、制度化水平" in item8
    assert not any(p.startswith(("往实里走", "度化水平", "求，强化", "务活动")) for p in cleaned.paragraphs)


# --- seed 002: Word bookmarks ---

def test_word_bookmarks_are_removed():
    raw = "[bookmark: _Hlk131512965]1.强化思想武装。切实抓好学习培训。\n[bookmark: _GoBack]2.夯实基层党建。深入开展。"
    cleaned = clean_text(raw)
    assert cleaned.paragraphs == ["1.强化思想武装。切实抓好学习培训。", "2.夯实基层党建。深入开展。"]
    assert "bookmark" not in clean_text(seed_text("wujin2023")).text


# --- seed 003: web page chrome, displaced quotes, half-width punctuation ---

def test_web_chrome_and_truncated_duplicate_are_removed():
    cleaned = clean_text(seed_text("xqu"))
    for chrome in ("VIP专免", "侵权投诉", "海报", "标签: #从严治党", "摘要:", "展开>>", "收起<<", "999+", "60.5KB"):
        assert chrome in cleaned.removed
        assert chrome not in cleaned.paragraphs
    assert any(r.endswith("...") for r in cleaned.removed)  # the repeated opening
    assert cleaned.text.count("总体要求是") == 1
    assert "VIP" not in cleaned.text and "侵权投诉" not in cleaned.text


def test_displaced_quotes_go_back_where_the_spaces_are():
    line = "“ ” “ ”捍卫 两个确立 、坚决做到 两个维护 推动政治建设,切"
    assert fix_displaced_quotes(line) == "捍卫“两个确立”、坚决做到“两个维护”推动政治建设,切"
    assert fix_displaced_quotes("“ ”“活动形式,开展 学习二十大,争做好队员 新时代好少") == \
        "活动形式,开展“学习二十大,争做好队员”“新时代好少"
    assert fix_displaced_quotes("50 ”年 勋章等政治仪式") == "50 年”勋章等政治仪式"
    # quotes that are where they belong are left alone
    assert fix_displaced_quotes("深化“头雁工程”，选优配强") == "深化“头雁工程”，选优配强"
    # when the gaps do not match, the stray marks go and every word stays
    assert fix_displaced_quotes("“ ”牌》,评选十佳党建品牌 ,并通过") == "牌》,评选十佳党建品牌 ,并通过"


def test_displaced_quotes_in_the_seed():
    text = clean_text(seed_text("xqu")).text
    assert "捍卫“两个确立”、坚决做到“两个维护”推动政治建设" in text
    assert "严格落实“三会一课”、谈心谈话" in text
    assert "颁发“光荣在党50年”勋章" in text


def test_half_width_punctuation_becomes_full_width():
    assert normalize_paragraph("总体要求是:紧紧围绕党的二十大精神,全面贯彻;提高水平.") == \
        "总体要求是：紧紧围绕党的二十大精神，全面贯彻；提高水平。"
    # numbers, decimals, headings and Latin text keep theirs
    assert normalize_paragraph("1.强化政治领航。增长6.6%，共1,000所") == "1.强化政治领航。增长6.6%，共1,000所"
    assert normalize_paragraph("see http://example.org, ok") == "see http://example.org, ok"
    assert normalize_paragraph("条例(试行)") == "条例（试行）"


def test_spaces_around_digits_are_dropped():
    assert normalize_paragraph("计划于2023 年新增 10 所党建工作品牌示范校") == "计划于2023年新增10所党建工作品牌示范校"
    assert normalize_paragraph("“学宪法 讲宪法”活动") == "“学宪法 讲宪法”活动"


def test_wrap_width_tells_pdf_lines_from_paragraphs():
    assert wrap_width(seed_text("jintan").split("\n")) is not None
    assert wrap_width(seed_text("xqu").split("\n")) is not None
    assert wrap_width(seed_text("wujin2023").split("\n")) is None


def test_a_heading_on_its_own_line_is_not_joined_with_its_body():
    paragraphs = assemble_paragraphs(["一、加强党的建设", "1.严格发展党员", "坚持标准，把骨干教师培养成党员，严把党员入口关。"])
    assert paragraphs == ["一、加强党的建设", "1.严格发展党员", "坚持标准，把骨干教师培养成党员，严把党员入口关。"]


def test_fragments_left_by_web_links_are_joined():
    # Paragraphs apart by blank lines; a bare newline inside one is where a link was.
    lines = ["各位代表：", "", "我们在听了刘少奇同志", "关于宪法草案的报告", "并进行了三天的讨论以后，已经完成了工作。", ""]
    lines += ["第二段。", "", "第三段。", "", "第四段。", "", "第五段。", "", "第六段。"]
    assert assemble_paragraphs(lines)[:2] == [
        "各位代表：", "我们在听了刘少奇同志关于宪法草案的报告并进行了三天的讨论以后，已经完成了工作。"]


def test_report_in_traditional_characters_keeps_its_sentences_whole():
    from .conftest import SHARED

    report = SHARED / "corpora" / "gov_work_reports" / "1954年中华人民共和国国务院政府工作报告.txt"
    if not report.exists():
        pytest.skip("shared corpora not available")
    paragraphs = clean_text(report.read_text(encoding="utf-8")).paragraphs
    assert any("在聽了劉少奇同志關於憲法草案的報告並進行了三天的討論以後" in p for p in paragraphs)
