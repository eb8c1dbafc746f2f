"""`policyqa eval` reads every gold format the project is measured with: sections (`gold`),
passages (`gold_passages`: cover@5, touch), documents (`gold_doc_ids`) and answer spans
(`gold_answer`), and prints what applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli.commands import main
from assistant.search.evaluate import GoldFileError, answer_found, load_gold, runs, score_question
from assistant.search.retrieve import SearchResult
from indexer.build import build_index
from indexer.embed import FakeEmbedder


def result(rank: int, text: str, source: str = "a.txt", path: list[str] | None = None) -> SearchResult:
    return SearchResult(rank=rank, score=0.5, doc_id="d", title="t", source=source, year=None, region="",
                        section_id="d#1", section_path=path or ["一、总则"], text=text, start=0, end=len(text))


ARTICLE = "用人单位自用工之日起即与劳动者建立劳动关系。用人单位应当建立职工名册备查。"  # 38 characters after normalising


def test_runs_are_sixteen_character_cuts_of_the_normalised_text():
    assert runs("发展党员，严把入口关！") == ["发展党员严把入口关"]  # shorter than 16: one run
    cut = runs(ARTICLE)
    assert [len(r) for r in cut] == [16, 16] and cut[0] == "用人单位自用工之日起即与劳动者建"


def test_cover_needs_half_of_the_runs_touch_needs_one():
    half = result(1, "用人单位自用工之日起即与劳动者建立劳动关系。")  # holds the first run of two
    graze = result(2, "……劳动者建立劳动关系。用人单位应当建立职工名册备查。")  # holds the second
    other = result(3, "与本题无关的段落内容，讲的是别的事情。")
    s = score_question({"question": "q", "gold_passages": [ARTICLE]}, [other, half]).metrics
    assert s["cover@5"] == 1.0 and s["touch@5"] == 1.0 and s["touch_mrr@10"] == 0.5
    s = score_question({"question": "q", "gold_passages": [ARTICLE + ARTICLE[:20]]}, [half]).metrics
    assert s["cover@5"] == 0.0 and s["touch@5"] == 1.0  # one run of three is not half
    s = score_question({"question": "q", "gold_passages": [ARTICLE]}, [half, graze]).metrics
    assert s["cover@5"] == 1.0  # together they hold it


def test_doc_ids_and_answers():
    item = {"question": "q", "gold_doc_ids": ["0013aa"], "gold_answer": "免征增值税"}
    hits = [result(1, "对纳税人提供的服务，免征增值税。", source="sub/0013aa.txt")]
    assert score_question(item, hits).metrics == {"doc_hit@5": 1.0, "doc_own@5": 1.0, "answer@5": 1.0}
    assert score_question(item, [result(1, "别的内容", source="0013ab.txt")]).metrics == {
        "doc_hit@5": 0.0, "doc_own@5": 0.0, "answer@5": 0.0}
    long_answer = "各地税务部门积极拓展非接触式办税缴费服务，发挥电子税务局作用，提高网上办理覆盖面。"
    assert answer_found(long_answer, "……办税缴费服务，发挥电子税务局作用，提高网上办理。其他")  # shares a 16-character run
    assert not answer_found(long_answer, "发挥电子税务局作用")


def test_a_gold_file_needs_a_gold_field(tmp_path):
    bad = tmp_path / "g.jsonl"
    bad.write_text(json.dumps({"question": "发展党员"}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(GoldFileError, match="缺少金标准字段"):
        load_gold(bad)
    bad.write_text(json.dumps({"question": "发展党员", "gold_answer": ["x"]}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    with pytest.raises(GoldFileError, match="gold_answer 应为字符串"):
        load_gold(bad)


def test_policyqa_eval_prints_what_applies(mini_corpus, tmp_path, capsys, fake_model):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"id": "p1", "question": "新教师岗前培训多少学时", "gold_passages": ["新教师岗前培训不少于120学时。"]},
        {"id": "d1", "question": "普惠性幼儿园", "gold_doc_ids": ["2024-乙县教育工作要点"], "gold_answer": "新增普惠性幼儿园5所"},
        {"id": "s1", "question": "发展党员", "gold": [{"key": "严把党员入口关", "heading": "严格发展党员"}]},
        {"id": "q1", "question": "？？", "gold_answer": "无"},  # no letter or digit: scored as no result
    ]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert main(["eval", str(gold), "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("recall@5", "cover@5", "touch@5", "doc_hit@5", "answer@5"):
        assert name in out
    assert main(["eval", str(gold), "--index", str(index_dir), "--json"]) == 0
    overall = json.loads(capsys.readouterr().out)["overall"]
    assert overall["cover@5"] == 1.0 and overall["doc_hit@5"] == 1.0 and overall["recall@5"] == 1.0
    assert overall["answer@5"] == 0.5  # found for d1, not for the unsearchable q1
    assert Path(gold).exists()
