"""The citation prior: documents other documents cite by title rank before their look-alikes."""

from __future__ import annotations

import json

import numpy as np

from assistant.search.index import load_index
from assistant.search.retrieve import Searcher
from indexer.build import build_index
from indexer.citations import base_title, citation_counts, prior
from indexer.embed import FakeEmbedder
from indexer.store import MANIFEST


def test_titles_are_compared_as_other_documents_cite_them():
    assert base_title("中华人民共和国民法典 合同编") == "民法典"
    assert base_title("中华人民共和国劳动合同法（2012年修正）") == "劳动合同法"
    assert base_title("工伤保险条例") == "工伤保险条例"


def test_counts_citing_documents_once_each_and_not_oneself():
    titles = ["中华人民共和国劳动合同法", "劳动合同法实施条例", "最高人民法院关于劳动争议的解释", "工伤保险条例"]
    texts = ["依照《劳动合同法》……本法即《中华人民共和国劳动合同法》。",
             "根据《中华人民共和国劳动合同法》，制定本条例。再依《劳动合同法》。",
             "根据《劳动合同法》《工伤保险条例》和《劳动合同法实施条例》，制定本解释。",
             "为了保障工伤职工，制定本条例。《不存在的法》不计。"]
    assert citation_counts(titles, texts) == [2, 1, 0, 1]


def test_prior_is_log_scaled_and_full_at_a_hundred():
    p = prior([0, 1, 10, 100, 5000])
    assert p[0] == 0.0 and 0 < p[1] < p[2] < p[3] == 1.0 == p[4]


def _corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = "用人单位自用工之日起即与劳动者建立劳动关系，应当订立书面劳动合同，并支付劳动报酬。"
    (corpus / "劳动合同法.txt").write_text(f"中华人民共和国劳动合同法\n第十条 {article}\n", encoding="utf-8")
    (corpus / "某市用工规定.txt").write_text(f"某市用工管理规定\n第五条 {article}\n", encoding="utf-8")
    for n in range(3):
        (corpus / f"解释{n}.txt").write_text(f"关于劳动争议的解释{n}\n第一条 根据《中华人民共和国劳动合同法》，制定本解释。"
                                           f"仲裁时效第{n + 1}项。\n", encoding="utf-8")
    return corpus


def test_a_cited_law_ranks_before_an_uncited_rule_saying_the_same(tmp_path):
    index_dir = tmp_path / "index"
    build_index(_corpus(tmp_path), index_dir, embedder=FakeEmbedder())
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["citations"].values()) == [3]
    searcher = Searcher(load_index(index_dir), FakeEmbedder())
    top = searcher.search("用人单位不签书面劳动合同怎么办", k=2)
    # the rule repeats the law's article word for word: one result, the law's, listing the rule
    assert top[0].source == "劳动合同法.txt" and [c.source for c in top[0].copies] == ["某市用工规定.txt"]

    # an index written before the manifest kept the counts gets the same order from its texts
    del manifest["citations"]
    (index_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    older = Searcher(load_index(index_dir), FakeEmbedder())
    assert np.array_equal(older.citation_prior(), searcher.citation_prior())
    assert [r.source for r in older.search("用人单位不签书面劳动合同怎么办", k=2)] == [r.source for r in top]


def test_articles_cited_by_title_and_number_are_counted():
    from indexer.citations import article_citation_counts, chunk_prior, citations

    titles = ["中华人民共和国劳动合同法", "劳动争议解释一", "劳动争议解释二"]
    texts = ["第十条 应当订立书面劳动合同。第八十二条 支付二倍工资。",
             "依照《劳动合同法》第八十二条、《中华人民共和国劳动合同法》第10条处理。",
             "根据《劳动合同法》第八十二条的规定。本解释第三条另有规定。"]
    labels = [{"第十条": ["1"], "第八十二条": ["2"]}, {}, {}]
    assert article_citation_counts(titles, texts, labels) == [{"2": 2, "1": 1}, {}, {}]
    counts = citations(["law", "a", "b"], titles, texts, labels)
    assert counts == {"law": 2, "law#2": 2, "law#1": 1}
    assert chunk_prior(counts, "law", "2") > chunk_prior(counts, "law", "1") > chunk_prior(counts, "law", "9") > 0
    assert chunk_prior(counts, "a", "1") == 0.0


def _law_corpus(tmp_path):
    corpus = tmp_path / "laws"
    corpus.mkdir()
    others = "".join(f"第{n}条 国家依法保障第{n}类事项的实施。\n" for n in "一二三四五六七")
    (corpus / "劳动合同法.txt").write_text(
        f"中华人民共和国劳动合同法\n第一章 总则\n{others}第八条 用人单位招用劳动者时，应当如实告知工作内容和劳动报酬。\n"
        "第九条 用人单位招用劳动者，不得扣押劳动者的证件和劳动报酬。\n", encoding="utf-8")
    for n in range(3):
        (corpus / f"解释{n}.txt").write_text(f"关于劳动报酬的解释{n}\n第一条 依照《劳动合同法》第九条处理扣押事项{n}。\n",
                                           encoding="utf-8")
    return corpus


ARTICLE_QUESTION = "用人单位招用劳动者时的劳动报酬"


def test_the_article_others_cite_ranks_first_of_its_law(tmp_path):
    index_dir = tmp_path / "index"
    build_index(_law_corpus(tmp_path), index_dir, embedder=FakeEmbedder())
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(v for k, v in manifest["citations"].items() if "#" in k) == [3]
    top = Searcher(load_index(index_dir), FakeEmbedder()).search(ARTICLE_QUESTION, k=2)
    assert top[0].section_path[-1] == "第九条"  # 第八条 without the article counts
