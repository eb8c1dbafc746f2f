"""Reading a question before answering it: its scope and its kind (fast, no model)."""

from __future__ import annotations

import pytest

from assistant.answers.judge import judge
from assistant.answers.kinds import kinds_of
from assistant.answers.kinds.base import core_of
from assistant.answers.scope import place, read_scope
from assistant.answers.when import mark_relative
from indexer.store import DocumentRow


def doc(n, title, year, region="", doc_type="工作要点"):
    return DocumentRow(n, f"d{n}", f"{title}.txt", "", title, "", "", "", year, region, doc_type, 3)


DOCS = [doc(0, "中共上海市宝山区教育工作委员会2020年工作要点", 2020, "宝山区"),
        doc(1, "金坛区委教育工委2023年工作要点", 2023, "金坛区"),
        doc(2, "2023年武进教育工作要点", 2023, "武进区"),
        doc(3, "2024年武进教育党建工作要点", 2024, "武进区"),
        doc(4, "2024年中华人民共和国国务院政府工作报告", 2024, "", "工作报告"),
        doc(5, "2025年中华人民共和国国务院政府工作报告", 2025, "", "工作报告"),
        doc(6, "第十四届全国人民代表大会第三次会议关于政府工作报告的决议", None, "", "决议")]


@pytest.mark.parametrize("question, years, regions, kinds", [
    ("2021年宝山区的工作要点讲了什么", {2021}, {"宝山区"}, {"工作要点"}),
    ("金坛区委教育工委2023年工作要点有哪几个方面", {2023}, {"金坛区"}, {"工作要点"}),
    ("宝山区和金坛区在三会一课上的要求有什么不同", set(), {"宝山区", "金坛区"}, set()),
    ("2024年和2023年政府工作报告的城镇新增就业目标有什么不同", {2023, 2024}, set(), {"工作报告"}),
    ("2025年赤字率安排是多少", {2025}, set(), set()),
    # a year the documents speak of is not their year; an everyday word is not a kind of document
    ("到2035年基本实现教育现代化有什么要求", set(), set(), set()),
    ("学校的工作计划有哪些要点", set(), set(), set()),
])
def test_the_scope_a_question_names(question, years, regions, kinds):
    scope = read_scope(question, DOCS, 2025)
    assert (scope.years, scope.regions, scope.kinds) == (years, regions, kinds)


def test_a_year_opening_a_question_dates_documents_only_in_a_collection_of_yearly_ones():
    laws = [doc(10, "中华人民共和国劳动合同法", 2012, "", "法"), doc(11, "工伤保险条例", 2010, "", "条例")]
    assert read_scope("2018年工伤伤残标准是怎样的", laws, 2025).years == set()
    assert read_scope("2024年发展党员有哪些要求", DOCS, 2025).years == {2024}


def test_relative_years_are_a_scope_said_as_understood():
    scope = read_scope("近两年政府工作报告的居民消费价格涨幅目标是多少", DOCS, 2025)
    assert scope.years == {2024, 2025} and scope.relative == "按 2024—2025 年理解"


def test_a_scope_with_no_document_says_so_and_names_the_nearest():
    placed = place(read_scope("2026年政府工作报告的经济增长目标是多少", DOCS, 2025), DOCS, None)
    assert not placed.met and [d.year for d in placed.docs] == [2025]
    assert placed.gap.startswith("索引中没有2026年的政府工作报告。") and "2025年" in placed.gap
    placed = place(read_scope("2021年宝山区的工作要点讲了什么", DOCS, 2025), DOCS, None)
    assert [d.doc_id for d in placed.docs] == ["d0"] and placed.substituted == "2020年宝山区的工作要点"


def test_a_place_the_index_does_not_hold_is_not_answered_with_another():
    placed = place(read_scope("2022年朝阳区的工作要点提了哪些任务", DOCS, 2025), DOCS, None)
    assert not placed.met and placed.docs == [] and "朝阳区" in placed.gap


def test_in_a_collection_not_kept_by_place_a_place_is_not_a_scope():
    national = [d for d in DOCS if not d.region] + [doc(9, "某县条例", 2020, "凤冈县", "条例")]
    scope = read_scope("我在朝阳区工作，单位不给交社保怎么办", national, 2025)
    assert not scope.unknown_places and place(scope, national, None).met


def test_the_users_filters_bound_the_scope():
    placed = place(read_scope("2023年的工作要点", DOCS, 2025), DOCS, allowed={"d2"})
    assert [d.doc_id for d in placed.docs] == ["d2"]


def test_a_resolution_is_not_a_report():
    placed = place(read_scope("政府工作报告提到了什么", DOCS, 2025), DOCS, None)
    assert {d.doc_id for d in placed.docs} == {"d4", "d5"}


@pytest.mark.parametrize("question, first", [
    ("金坛区委教育工委2023年工作要点有哪几个方面", "overview"),
    ("2024年武进教育党建工作要点分为几个部分", "count"),
    ("2023年武进教育工作要点一共列了多少条", "count"),
    ("哪些文件提到了近视防控", "which"),
    ("统战工作在哪几个文件里出现", "which"),
    ("政府工作报告最早在哪一年提到高质量发展", "which"),
    ("宝山区和金坛区在三会一课上的要求有什么不同", "compare"),
    ("近三年的经济增长预期目标分别是多少", "series"),
    ("有多少份政府工作报告", "catalogue"),
    ("2023年有哪些工作要点", "catalogue"),
])
def test_the_kind_a_question_asks(question, first):
    assert kinds_of(question)[0].name == first


@pytest.mark.parametrize("question", ["发展党员有哪些要求", "教师培训有多少学时", "2025年赤字率安排是多少",
                                      "武汉市已经开放了多少个床位", "国家卫健委做了哪些部署以保证医疗资源"])
def test_look_ups_are_no_other_kind(question):
    assert not kinds_of(question)


def test_the_core_of_a_topic_leaves_out_what_kind_of_answer_is_wanted():
    assert core_of("三会一课上的要求") == "三会一课"
    assert core_of("统战工作") == "统战"
    assert core_of("高质量发展") == "高质量发展"


def test_relative_time_in_a_passage_is_read_against_its_own_year():
    assert mark_relative("今年发展主要预期目标是：国内生产总值增长5%左右，比去年高", 2024) == \
        "今年（2024年）发展主要预期目标是：国内生产总值增长5%左右，比去年（2023年）高"
    assert mark_relative("今年（2024年）", 2024) == "今年（2024年）"  # marked once


ANSWER = {"gap": "", "message": "", "notice": "", "understood": "",
          "points": [{"text": "一、聚焦政治建设", "citations": [1]}, {"text": "四、聚焦作风建设", "citations": [2]}],
          "passages": [{"rank": 1, "title": "2024年武进教育党建工作要点", "source": "a.txt"},
                       {"rank": 2, "title": "2024年武进教育党建工作要点", "source": "a.txt"},
                       {"rank": 3, "title": "金坛区委教育工委2023年工作要点", "source": "b.txt"}]}


def test_the_judge_follows_the_reference_rules():
    assert judge({"must": ["政治建设", "作风建设"], "cite": ["2024年武进"]}, ANSWER) == (True, "")
    assert judge({"must": ["政治建设", "队伍建设"], "need": 2}, ANSWER) == (False, "must 1/2")
    assert judge({"must_any": [["四", "4"]]}, ANSWER)[0]
    assert judge({"cite": ["金坛"]}, ANSWER) == (False, "no cited passage from 金坛")  # listed, not cited
    assert not judge({"gap": ["2021"]}, ANSWER)[0]
    assert judge({"gap": ["2021"]}, {**ANSWER, "gap": "索引中没有2021年宝山区的工作要点。"})[0]


def test_an_overview_of_a_document_whose_headings_run_on_one_line(tmp_path):
    """Web text pasted as one line: its inline headings are still its structure."""
    from assistant.answers.answer import Answerer
    from assistant.search.index import load_index
    from assistant.search.retrieve import Searcher
    from indexer.build import build_index
    from indexer.embed import FakeEmbedder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "丙区.txt").write_text(
        "丙区教育局2025年工作要点 为做好全年工作，提出以下要点。 一、加强党的建设 严格落实三会一课制度，发展党员20名。"
        " 二、推进课后服务 每所学校开设课后服务，覆盖率达到100%。 三、保障校园安全 开展安全检查每月一次。\n", encoding="utf-8")
    (corpus / "丁区.txt").write_text("丁区教育局2024年工作要点\n一、总则\n1.做好近视防控。\n2.做好课后服务。\n",
                                   encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    answerer = Answerer(Searcher(load_index(tmp_path / "index"), embedder=FakeEmbedder()))
    ans = answerer.answer("丙区2025年工作要点分为哪几个方面")
    assert ans.kind == "overview" and "3个方面" in ans.lead
    assert [p.text for p in ans.points] == ["一、加强党的建设", "二、推进课后服务", "三、保障校园安全"]
    ans = answerer.answer("哪些区的文件提到了课后服务")
    assert ans.lead == "提到“课后服务”的有2个地区：丙区、丁区。" or ans.lead == "提到“课后服务”的有2个地区：丁区、丙区。"
    ans = answerer.answer("2023年丙区的工作要点讲了什么")
    assert ans.gap.startswith("索引中没有2023年丙区的工作要点。") and all(r.year == 2025 for r in ans.passages)


def test_the_language_model_is_told_the_scope_was_not_met():
    from assistant.answers.llm import build_messages

    user = build_messages("2026年的目标", [], "索引中没有2026年的政府工作报告。")[1]["content"]
    assert "注意：索引中没有2026年的政府工作报告。" in user and "开头说明" in user
    assert "注意" not in build_messages("2025年的目标", [])[1]["content"]


def test_a_corpus_without_its_index_is_refused_in_chinese(capsys):
    from assistant.cli.commands import main

    assert main(["eval", "../shared/eval/dev-kinds.jsonl", "--corpus", "seeds"]) == 1
    err = capsys.readouterr().err
    assert "参数 --corpus 应写成 名称=索引" in err and "argument" not in err


def test_a_topic_whose_words_never_meet_in_one_sentence_is_found_by_its_rarest_word(tmp_path):
    """In a large collection `学校` is distinctive too, and no sentence says 清廉 and 学校 together:
    the document that writes 清廉校风 still answers 哪些文件写到了清廉学校建设."""
    from assistant.answers.answer import Answerer
    from assistant.search.index import load_index
    from assistant.search.retrieve import Searcher
    from indexer.build import build_index
    from indexer.embed import FakeEmbedder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "甲区.txt").write_text("甲区教育局2023年工作要点\n一、从严治党\n1.营造清廉校风师风。\n2.建设书香校园。\n",
                                   encoding="utf-8")
    topics = ["近视防控", "课后服务", "体育锻炼", "劳动教育", "心理健康", "教师培训", "食品安全", "校园足球"]
    for n in range(150):
        school = "学校" if n % 10 == 0 else "单位"
        (corpus / f"文件{n:03d}.txt").write_text(
            f"第{n}号通知\n一、要求\n1.各{school}做好{topics[n % len(topics)]}工作，第{n}批次落实。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    answerer = Answerer(Searcher(load_index(tmp_path / "index"), embedder=FakeEmbedder()))
    ans = answerer.answer("哪些文件写到了清廉学校建设")
    assert ans.status == "ok" and "甲区教育局2023年工作要点" in ans.lead, ans.message
    assert answerer.answer("哪些文件写到了元宇宙学校建设").status == "not_found"
