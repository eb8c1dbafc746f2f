"""End to end with the real model (m3e-small) on the real corpus."""

from __future__ import annotations

import json

import pytest

from assistant.cli.commands import main
from assistant.search.evaluate import evaluate, load_gold
from assistant.search.index import load_index
from assistant.search.retrieve import Filters, Searcher
from indexer.textutil import match_key

from .conftest import DEV, DEV_COLLOQUIAL

pytestmark = pytest.mark.model

EXPECTED = {
    "金坛区委教育工委2023年工作要点": ["三、鲜明选育导向，培养堪当重任的高素质干部教师队伍", "7.持续提升发展党员工作水平"],
    "2024年武进教育党建工作要点": ["三、聚焦队伍建设，增强引领力", "3.高质量建好党员队伍"],
    "中共上海市宝山区教育工作委员会2020年工作要点": ["二、以组织体系建设为载体，着力夯实党建之基", "7.从严教育管理"],
}


def test_party_member_question_finds_three_districts(real_searcher):
    results = real_searcher.search("发展党员有哪些要求", k=5)
    got = {(r.title, tuple(r.section_path)) for r in results}
    for title, path in EXPECTED.items():
        assert (title, tuple(path)) in got, f"{title} › {path} not in top 5"
    regions = {r.region for r in results}
    assert {"金坛区", "武进区", "宝山区"} <= regions


def test_scoped_question_finds_its_district(real_searcher):
    top = real_searcher.search("金坛区党员日常教育管理怎么抓", k=3)
    assert any(r.region == "金坛区" and r.section_path[-1] == "8.持续加强党员日常教育管理" for r in top)


def test_filter_keeps_only_one_district(real_searcher):
    results = real_searcher.search("发展党员有哪些要求", k=5, filters=Filters(regions={"宝山区"}))
    assert results and {r.region for r in results} == {"宝山区"}
    assert results[0].section_path[-1] == "7.从严教育管理"


def test_dev_set_quality_floor(real_searcher):
    if not DEV.exists():
        pytest.skip("../shared/eval/dev.jsonl not available")
    summary, _ = evaluate(real_searcher, load_gold(DEV))
    overall = summary["overall"]
    # Measured 0.993 / 0.978 (see README); the floor sits a little under it.
    assert overall["recall@5"] >= 0.97
    assert overall["mrr@10"] >= 0.95


def test_colloquial_set_runs(real_searcher):
    if not DEV_COLLOQUIAL.exists():
        pytest.skip("../shared/eval/dev-colloquial.jsonl not available")
    summary, _ = evaluate(real_searcher, load_gold(DEV_COLLOQUIAL))
    assert summary["overall"]["hit@5"] >= 0.85


def test_save_load_round_trip(real_index):
    first = load_index(real_index)
    again = load_index(real_index)
    assert first.manifest == again.manifest
    assert first.dense.ntotal == again.dense.ntotal == len(first.chunk_doc)
    a = Searcher(first).search("近视防控有什么目标", k=3)
    b = Searcher(again).search("近视防控有什么目标", k=3)
    assert [r.section_id for r in a] == [r.section_id for r in b]
    assert "确保全区儿童青少年总体近视率持续下降" in a[0].text


def test_cli_search_on_real_index(real_index, capsys):
    assert main(["search", "强基之星评选多少个", "--index", str(real_index), "--json", "-k", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(match_key("评选15个左右") in match_key(r["text"]) for r in data["results"])


def test_answers_cite_a_gold_section(real_searcher):
    from assistant.answers.answer import Answerer
    from assistant.search.evaluate import evaluate_answers

    if not DEV.exists():
        pytest.skip("../shared/eval/dev.jsonl not available")
    result = evaluate_answers(Answerer(real_searcher), load_gold(DEV))
    assert result["share"] >= 0.9  # measured 1.0


def test_answer_for_the_party_member_question(real_searcher):
    from assistant.answers.answer import Answerer

    ans = Answerer(real_searcher).answer("发展党员有哪些要求")
    assert ans.status == "ok" and 2 <= len(ans.points) <= 5
    cited = {n for p in ans.points for n in p.citations}
    regions = {ans.passages[n - 1].region for n in cited}
    assert {"金坛区", "武进区", "宝山区"} <= regions


@pytest.mark.parametrize("question", ["今天天气怎么样", "感冒了吃什么药", "世界杯冠军是哪个国家"])
def test_off_topic_questions_are_not_answered(real_searcher, question):
    from assistant.answers.answer import Answerer

    ans = Answerer(real_searcher).answer(question)
    assert ans.status == "not_found" and not ans.passages


@pytest.mark.parametrize("question, heading", [
    ("孩子在学校被欺负怎么办", "27.维护校园安全稳定"),  # 校园欺凌防治
    ("老师办补习班收钱", "10.深化“双减”工作"),  # 校外培训 / 有偿补课
    ("看不清黑板", "22.注重身心健康成长"),  # 近视防控
    ("老师入党", "7.持续提升发展党员工作水平"),  # 发展党员
    ("乡下学校", "13.加快义务教育优质均衡"),  # 乡村教育振兴工程
])
def test_everyday_words_find_the_official_wording(real_searcher, question, heading):
    top = real_searcher.search(question, k=5)
    assert heading in [r.section_path[-1] for r in top], [r.section_path[-1] for r in top]
    assert any(m.get("from") for r in top for m in r.matched_terms)


def test_colloquial_set_quality_floor(real_searcher):
    if not DEV_COLLOQUIAL.exists():
        pytest.skip("../shared/eval/dev-colloquial.jsonl not available")
    overall = evaluate(real_searcher, load_gold(DEV_COLLOQUIAL))[0]["overall"]
    # Measured 0.975 / 0.942 (README); targets 0.90 / 0.85.
    assert overall["recall@5"] >= 0.9 and overall["mrr@10"] >= 0.85


def test_single_line_notices_get_their_structure_and_answers(tmp_path):
    """Notices as scraped from the web, each one line: their items become sections, and a
    question about one item finds it with the real models."""
    from indexer.build import build_index

    corpus = tmp_path / "notices"
    corpus.mkdir()
    (corpus / "税务.txt").write_text(
        "某省税务局关于支持疫情防控的通知 各市税务局：为坚决贯彻落实决策部署，现提出以下要求。 一、支持疫情防控物资供应 "
        "对生产、销售疫情防控重点物资的企业，申请办理留抵退税的，主管税务机关要加快审核进度，符合条件的尽快办理退税。"
        " 二、支持疾控医疗救治 对非营利性医疗机构提供的医疗服务免征增值税，其自用的房产、土地免征房产税。"
        " 三、鼓励公益慈善捐赠 企业通过公益性社会组织捐赠用于疫情防控的物品，允许在计算应纳税所得额时全额扣除。",
        encoding="utf-8")
    (corpus / "交通.txt").write_text(
        "某市交通运输局关于做好春节后返程工作的通知 各区交通运输局：现就有关事项通知如下。 一、做好客流预测 "
        "各地要密切关注返程客流变化，科学研判客流规模和时段分布。 二、保障运力供给 加密重点线路班次，备足应急运力。"
        " 三、加强站车防控 严格落实车站和车厢通风消毒，乘客须全程佩戴口罩。", encoding="utf-8")
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir)
    searcher = Searcher(load_index(index_dir))
    sections = [s.path[-1] for s in searcher.sections(searcher.documents()[1].doc_id)]
    assert "一、支持疫情防控物资供应" in sections and "三、鼓励公益慈善捐赠" in sections
    top = searcher.search("企业捐赠防疫物品能不能在企业所得税前扣除", k=3)
    assert top[0].section_path[-1] == "三、鼓励公益慈善捐赠" and "全额扣除" in top[0].text
    top = searcher.search("返程期间坐车要戴口罩吗", k=3)
    assert top[0].section_path[-1] == "三、加强站车防控"


def test_bullying_answer_cites_campus_safety(real_searcher):
    from assistant.answers.answer import Answerer

    ans = Answerer(real_searcher).answer("孩子在学校被欺负怎么办")
    cited = {ans.passages[n - 1].section_path[-1] for p in ans.points for n in p.citations}
    assert "27.维护校园安全稳定" in cited
    assert "校园欺凌防治" in ans.points[0].text  # search ranks that section first, and so does the answer


def test_a_figure_question_is_answered_with_the_figure(real_searcher):
    from assistant.answers.answer import Answerer

    ans = Answerer(real_searcher).answer("武进2023年计划增加多少学位")
    assert ans.status == "ok" and not ans.gap
    assert "超12000个" in ans.points[0].text


def test_no_figure_for_teachers_is_said_not_faked(real_searcher):
    from assistant.answers.answer import Answerer

    ans = Answerer(real_searcher).answer("今年教师培训有多少学时要求")
    assert ans.understood == "按 2024 年理解"
    assert ans.gap.startswith("文件中没有找到教师培训的具体学时数")
    # the party members' 32 hours may be listed as related, never as the answer
    assert not ans.plain_text().startswith("党员") and "32学时" not in ans.gap


def test_off_topic_set_is_refused(real_searcher):
    from pathlib import Path

    from assistant.answers.answer import Answerer

    lines = (Path(__file__).parent / "data" / "off_topic.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    answerer = Answerer(real_searcher)
    answered = [it["question"] for it in items if answerer.answer(it["question"]).status == "ok"]
    assert len(items) >= 60 and len(answered) <= 0.05 * len(items), answered  # measured: 2 of 69
