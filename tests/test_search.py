"""Hybrid search over a small index built with the fake embedder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath

import pytest

from assistant.present.highlight import mark, query_terms, snippet
from assistant.search.evaluate import gold_rank, score_question, summarize
from assistant.search.index import load_index
from assistant.search.retrieve import Filters, Fusion, QueryError, Searcher, SearchResult
from indexer.build import build_index
from indexer.embed import FakeEmbedder


@pytest.fixture
def searcher(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    return Searcher(load_index(index_dir), FakeEmbedder())


def test_finds_the_section_by_its_words(searcher):
    results = searcher.search("发展党员", k=3)
    assert results[0].section_path == ["一、加强党的建设", "1.严格发展党员"]
    assert results[0].title == "甲区教育局2023年工作要点"
    assert results[0].section_id.endswith("#1.1")
    assert [r.rank for r in results] == [1, 2, 3]
    assert results[0].score >= results[1].score >= results[2].score


def test_one_result_per_section(searcher):
    results = searcher.search("教育", k=20)
    ids = [r.section_id for r in results]
    assert len(ids) == len(set(ids))


def test_filters_by_year_region_and_document(searcher):
    assert {r.year for r in searcher.search("教育", k=10, filters=Filters(years={2024}))} == {2024}
    assert {r.region for r in searcher.search("教育", k=10, filters=Filters(regions={"甲区"}))} == {"甲区"}
    only = searcher.search("教育", k=10, filters=Filters(docs={"2024-乙县教育工作要点.txt"}))
    assert {r.source for r in only} == {"2024-乙县教育工作要点.txt"}
    assert searcher.search("教育", k=10, filters=Filters(years={1999})) == []


def test_region_filter_accepts_the_short_name(searcher):
    results = searcher.search("特殊教育", k=5, filters=Filters(regions={"乙县"}))
    assert results and all(r.region == "乙县" for r in results)


def test_empty_query_is_refused(searcher):
    for q in ("", "   ", "\n"):
        with pytest.raises(QueryError):
            searcher.search(q)


def test_result_text_is_the_chunk_without_title_and_path(searcher):
    r = searcher.search("近视防控", k=1)[0]
    assert r.text.startswith("4.做好近视防控")
    assert "甲区教育局2023年工作要点" not in r.text
    assert r.end - r.start == len(r.text)


def test_fusion_settings():
    import numpy as np

    signals = {"cos_q": np.array([0.9, 0.8, 0.1]), "cos_qe": np.array([0.9, 0.8, 0.1]),
               "bm25_words": np.array([0.0, 5.0, 10.0]), "bm25_expansions": np.array([4.0, 0.0, 0.0])}
    score = Fusion(method="score", bm25_weight=0.2, expansion_weight=0.5, second_weight=0.0).combine(signals)
    assert score == pytest.approx([0.9 + 0.2 * 0.2, 0.8 + 0.2 * 0.5, 0.1 + 0.2 * 1.0])
    # an expansion word counts less than the question's own word
    assert Fusion(expansion_weight=0.5).parts(signals)["bm25"][0] < 1.0
    signals.update(use_chunk=np.array([0.2, 0.9, 0.1]), use_sent=np.array([0.2, 0.9, 0.1]))
    rrf = Fusion(method="rrf", rrf_k=60).combine(signals)
    assert rrf[1] > rrf[0] and rrf[1] > rrf[2]


def test_evaluation_matching_rule():
    r = SearchResult(rank=2, score=1, doc_id="d", title="t", source="s", year=2023, region="", section_id="d#1",
                     section_path=["三、鲜明选育导向", "7.持续提升发展党员工作水平"], text="印发《发展党员工作注意事项》，严格规范",
                     start=0, end=10)
    assert gold_rank({"key": "发展党员工作注意事项", "heading": "无关"}, [r], 10) == 2
    assert gold_rank({"key": "无关", "heading": "持续提升发展党员工作水平"}, [r], 10) == 2
    assert gold_rank({"key": "无关", "heading": "无关"}, [r], 10) is None
    item = {"question": "q", "type": "multi", "gold": [{"key": "发展党员工作注意事项"}, {"key": "没有"}]}
    s = score_question(item, [r])
    assert (s.recall5, s.hit5, s.rr10) == (0.5, 1.0, 0.5)
    assert summarize([s])["by_type"]["multi"]["recall@5"] == 0.5


def test_snippet_and_highlight():
    text = "前言部分。" * 40 + "严把党员入口关，制定年度发展党员计划。" + "结尾。" * 40
    terms = query_terms("发展党员有哪些要求")
    assert "发展党员" in terms and "哪些" not in terms
    piece, _ = snippet(text, terms, width=60)
    assert "发展党员" in piece and piece.startswith("…")
    assert mark("发展党员工作", ["发展党员"], "[", "]") == "[发展党员]工作"


def test_a_compounds_pieces_count_less_than_its_own_words():
    from assistant.search.query import PIECE_WEIGHT, word_weights
    from assistant.search.results import coverage_of
    from indexer.tokenize import tokenize

    words = tokenize("内蒙古对资金使用做了哪些规定")
    weights = word_weights(words)
    assert weights["内蒙古"] == 1.0 and weights["资金"] == 1.0
    assert weights["内蒙"] == weights["蒙古"] == PIECE_WEIGHT < 1.0
    df = {w: 1 for w in weights}
    place, topic = coverage_of(["内蒙古召开会议", "规定资金使用"], weights, df, 10)
    full_place, full_topic = coverage_of(["内蒙古召开会议", "规定资金使用"], words, df, 10)
    assert place < full_place and topic > full_topic  # the place name no longer outweighs the topic


def _result(rank: int, doc: str, text: str) -> SearchResult:
    return SearchResult(rank=rank, score=0.5, doc_id=doc, title=f"{doc}工作要点", source=f"{doc}.txt", year=2024,
                        region="", section_id=f"{doc}#1", section_path=["一、加强党的建设"], text=text, start=0, end=len(text))


def test_a_passage_another_document_repeats_is_shown_once_with_its_copies():
    from assistant.search.results import fold_copies, without_copies

    same = "严格发展党员。坚持标准，把骨干教师培养成党员，严把党员入口关。"
    ranked = [_result(1, "甲", same), _result(2, "丙", "1." + same), _result(3, "乙", "新增普惠性幼儿园5所。"),
              _result(4, "丁", "做好近视防控。确保儿童青少年近视率持续下降。"), _result(5, "戊", same + "（转载）")]
    kept = fold_copies(ranked)
    assert [r.doc_id for r in kept] == ["甲", "乙", "丁"]
    assert [c.doc_id for c in kept[0].copies] == ["丙", "戊"] and kept[0].copies[0].source == "丙.txt"
    assert kept[0].to_json()["copies"][0]["section_id"] == "丙#1"
    asked = []

    def results_for(n):  # the engine's best n, as it ranks them
        asked.append(n)
        return [replace(r, copies=[]) for r in ranked + [_result(6, "己", "深化师德师风建设。")]][:n]

    top = without_copies(results_for, 4)
    assert [r.doc_id for r in top] == ["甲", "乙", "丁", "己"] and [r.rank for r in top] == [1, 2, 3, 4]
    assert asked[0] == 4 and len(asked) > 1  # it asked for more when copies left gaps


def test_the_same_words_with_other_figures_are_two_results():
    from assistant.search.results import fold_copies

    a = _result(1, "甲", "新建学校3所，增加学位2000个，确保儿童青少年近视率持续下降。")
    b = _result(2, "乙", "新建学校5所，增加学位3000个，确保儿童青少年近视率持续下降。")
    assert len(fold_copies([a, b])) == 2


def test_search_lists_the_documents_that_repeat_a_passage(mini_corpus, tmp_path):
    (mini_corpus / "2024-丙区教育工作要点.txt").write_text(
        "丙区教育局2024年工作要点\n一、加强党的建设\n1.严格发展党员。坚持标准，把骨干教师培养成党员，严把党员入口关。\n",
        encoding="utf-8")
    build_index(mini_corpus, tmp_path / "index", embedder=FakeEmbedder())
    s = Searcher(load_index(tmp_path / "index"), FakeEmbedder())
    results = s.search("严格发展党员", k=3)
    first = next(r for r in results if "严格发展党员" in r.text)
    assert len(results) == 3 and len({r.section_id for r in results}) == 3
    assert sum("严格发展党员" in r.text for r in results) == 1
    assert {first.title, *(c.title for c in first.copies)} == {"甲区教育局2023年工作要点", "丙区教育局2024年工作要点"}
    item = {"question": "严格发展党员", "gold_doc_ids": [PurePosixPath(c.source).stem for c in first.copies]}
    scores = score_question(item, [first]).metrics
    assert scores["doc_hit@5"] == 1.0 and scores["doc_own@5"] == 0.0  # a listed copy is shown, not its own result
    from assistant.present.render import result_cards
    from assistant.present.terminal import format_results
    assert "相同段落也见于" in result_cards("严格发展党员", results)
    assert "相同段落也见于：" + first.copies[0].citation in format_results("严格发展党员", results)
