"""Extractive and generative answers, and `policyqa ask`."""

from __future__ import annotations

import json

import pytest

from assistant.answers.answer import NO_CONTENT, Answerer, points_from_text
from assistant.answers.llm import LLMConfig, check_markers
from assistant.cli.commands import main
from assistant.search.index import load_index
from assistant.search.retrieve import Filters, Searcher
from indexer.build import build_index
from indexer.embed import FakeEmbedder
from indexer.textutil import split_sentences

from .llm_stub import StubLLM


@pytest.fixture
def answerer(mini_corpus, tmp_path):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=FakeEmbedder())
    return Answerer(Searcher(load_index(index_dir), FakeEmbedder()))


def test_sentences():
    assert split_sentences("一、总则。第一句；第二句！“引号。”结尾") == ["一、总则。", "第一句；", "第二句！", "“引号。”", "结尾"]


def test_extractive_answer_cites_its_passages(answerer):
    ans = answerer.answer("发展党员", k=3)
    assert ans.status == "ok" and ans.mode == "extractive" and ans.points
    texts = "".join(p.text for p in ans.points)
    assert "严把党员入口关" in texts
    corpus_text = "".join(p.text for p in ans.passages)
    for point in ans.points:
        assert point.citations and all(1 <= n <= len(ans.passages) for n in point.citations)
        # nothing is written that is not in a cited passage
        for sentence in split_sentences(point.text):
            assert sentence in corpus_text
    assert [p.rank for p in ans.passages] == list(range(1, len(ans.passages) + 1))


def test_no_content_words(answerer):
    for q in ("的了吗", "？？？", "   "):
        ans = answerer.answer(q)
        assert ans.status == "no_content" and ans.message == NO_CONTENT and not ans.passages


def test_below_threshold_says_not_found(answerer):
    answerer.min_relevance = 5.0  # nothing can reach it
    ans = answerer.answer("发展党员")
    assert ans.status == "not_found" and not ans.passages and not ans.points and "没有找到" in ans.message


def test_filters_apply(answerer):
    ans = answerer.answer("教育", filters=Filters(years={2024}))
    assert ans.passages and {p.year for p in ans.passages} == {2024}


def test_marker_check():
    text, removed = check_markers("甲[1]。乙[7]。丙[2][3]", 2)
    assert text == "甲[1]。乙。丙[2]" and removed == ["[7]", "[3]"]
    points = points_from_text("- 第一条[1]\n2. 第二条[1][2]\n\n")
    assert [(p.text, p.citations) for p in points] == [("第一条[1]", [1]), ("第二条[1][2]", [1, 2])]


def test_generative_answer_streams(answerer):
    with StubLLM() as llm:
        config = LLMConfig(llm.base_url, "stub", "secret", timeout=5)
        steps = list(answerer.generate("发展党员", config, k=3))
        final = steps[-1]
        assert len(steps) >= 3  # streamed in pieces
        assert final.mode == "generative" and final.status == "ok" and not final.notice
        assert final.text == "- 严把党员入口关，把骨干教师培养成党员[1]。\n- 建立师德师风承诺制[2]。"
        assert [p.citations for p in final.points] == [[1], [2]]
        sent = llm.requests[-1]
        assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer secret"
        assert sent["body"]["stream"] is True and sent["body"]["model"] == "stub"
        prompt = sent["body"]["messages"][-1]["content"]
        assert "[1] 出处：" in prompt and "问题：发展党员" in prompt


def test_bad_marker_is_removed_and_reported(answerer):
    with StubLLM() as llm:
        llm.set_mode("bad_marker")
        final = list(answerer.generate("发展党员", LLMConfig(llm.base_url, timeout=5), k=3))[-1]
        assert final.mode == "generative"
        assert "[9]" not in final.text and final.removed_markers == ["[9]"]
        assert "[9]" in final.notice


@pytest.mark.parametrize("mode", ["fail", "slow"])
def test_failing_or_slow_server_falls_back_to_extractive(answerer, mode):
    with StubLLM() as llm:
        llm.set_mode(mode)
        final = list(answerer.generate("发展党员", LLMConfig(llm.base_url, timeout=1.5), k=3))[-1]
        assert final.mode == "extractive" and final.points
        assert "生成式回答不可用" in final.notice


def test_unreachable_server_falls_back(answerer):
    final = list(answerer.generate("发展党员", LLMConfig("http://127.0.0.1:9/v1", timeout=2), k=3))[-1]
    assert final.mode == "extractive" and "生成式回答不可用" in final.notice


def test_non_streaming_reply_is_accepted(answerer):
    with StubLLM() as llm:
        llm.set_mode("plain")
        final = list(answerer.generate("发展党员", LLMConfig(llm.base_url, timeout=5), k=3))[-1]
        assert final.mode == "generative" and "[1]" in final.text


# --- the command line ---------------------------------------------------------------

@pytest.fixture
def cli_index(mini_corpus, tmp_path, fake_model, capsys):
    index_dir = tmp_path / "cli-index"
    assert main(["index", str(mini_corpus), "--index", str(index_dir)]) == 0
    capsys.readouterr()
    return index_dir


def test_cli_ask_json(cli_index, capsys):
    assert main(["ask", "发展党员", "--index", str(cli_index), "--json", "-k", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "ok" and data["points"]
    assert all(isinstance(p["citations"], list) and p["citations"] for p in data["points"])
    assert {"rank", "score", "doc_id", "title", "section_id", "section_path", "text"} <= set(data["passages"][0])


def test_cli_ask_text(cli_index, capsys):
    assert main(["ask", "发展党员", "--index", str(cli_index)]) == 0
    out = capsys.readouterr().out
    assert "1. " in out and "[1]" in out and "出处：" in out
    assert "甲区教育局2023年工作要点 · 2023 · 甲区 › 一、加强党的建设 › 1.严格发展党员" in out


def test_cli_ask_empty(cli_index, capsys):
    assert main(["ask", "  ", "--index", str(cli_index)]) == 1
    assert "问题为空" in capsys.readouterr().err


def test_cli_ask_with_language_model(cli_index, capsys, monkeypatch):
    with StubLLM() as llm:
        monkeypatch.setenv("POLICYQA_LLM_BASE_URL", llm.base_url)
        assert main(["ask", "发展党员", "--index", str(cli_index)]) == 0
        out = capsys.readouterr().out
        assert "严把党员入口关，把骨干教师培养成党员[1]。" in out and "出处：" in out
        llm.set_mode("fail")
        assert main(["ask", "发展党员", "--index", str(cli_index), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["mode"] == "extractive" and "生成式回答不可用" in data["notice"]


def test_two_years_saying_the_same_words_with_other_targets_stay_two_points():
    import numpy as np

    from assistant.answers.answer import _Candidate, _group

    texts = ["主要预期目标是：国内生产总值增长5%左右。", "主要预期目标是：国内生产总值增长6%以上。",
             "主要预期目标是：国内生产总值增长5%左右。"]
    candidates = [_Candidate(n, 0, t, "") for n, t in enumerate(texts, start=1)]
    same = np.ones((3, 4)) / 2.0  # one vector for all three: only their figures tell them apart
    points = _group(candidates, [0, 1, 2], same)
    assert [(p.text, p.citations) for p in points] == [(texts[0], [1, 3]), (texts[1], [2])]


def test_character_pairs_find_the_sentence_that_says_what_was_asked():
    from assistant.answers.answer import bigram_coverage

    texts = ["各地要做好疫情防控工作。", "减税抗疫贷单户最高可贷500万元。", "疫情防控期间暂停公开招聘。"]
    scores = bigram_coverage("减税抗疫贷最多贷多少", texts)
    assert int(scores.argmax()) == 1 and scores[0] == 0.0
    # a pair every sentence holds counts for less than one only the answer holds
    common, rare = bigram_coverage("疫情抗疫", texts)[:2]  # 疫情 in two sentences, 抗疫 in one
    assert rare > common > 0


def test_a_question_or_a_short_numbered_heading_is_said_with_the_sentence_after_it():
    from assistant.answers.answer import _candidates
    from assistant.search.results import SearchResult

    def passage(text):
        return SearchResult(rank=1, score=0.8, doc_id="d", title="通知", source="d.txt", year=2020, region="",
                            section_id="d:1", section_path=["通知"], text=text, start=0, end=len(text))

    faq = passage("企业何时能够复工？2月17日24时前，重点企业可立即复工。其他企业分批复工。")
    texts = [c.text for c in _candidates([faq])]
    assert texts[0] == "企业何时能够复工？2月17日24时前，重点企业可立即复工。"
    assert "企业何时能够复工？" not in texts
    listed = passage("（一）红十字会接收捐款账户信息。开户名：红十字会，账号：2102108009。")
    assert [c.text for c in _candidates([listed])] == ["（一）红十字会接收捐款账户信息。开户名：红十字会，账号：2102108009。"]


def test_sentences_are_taken_best_first_until_the_answer_is_long_enough():
    import numpy as np

    from assistant.answers import answer
    from assistant.answers.answer import _Candidate, _group, _reading_order
    from indexer.textutil import split_sentences

    long = "各地要落实疫情防控责任，" * 20 + "。"  # 241 characters
    texts = [long, long.replace("各地", "各校"), long.replace("各地", "各区"), "短句也要说完整。"]
    candidates = [_Candidate(1, i, t, "") for i, t in enumerate(texts[:3])] + [_Candidate(2, 0, texts[3], "")]
    vectors = np.eye(4)
    points = _group(candidates, [0, 1, 2, 3], vectors)
    assert sum(len(p.text) for p in points) <= answer.ANSWER_CHARS
    assert all(len(p.text) <= answer.POINT_CHARS for p in points)  # a point is a few sentences, not a page
    short = [_Candidate(1, i, f"第{i}句短句要说完整。", "") for i in range(8)]
    assert len(split_sentences(_group(short, list(range(8)), np.eye(8))[0].text)) == answer.SENTENCES_PER_POINT
    assert [p.citations for p in points] == [[1], [2]] and texts[2] not in points[0].text
    # each passage's best sentence comes before a passage says more
    assert _reading_order(candidates, [0, 1, 3])[:2] == [0, 3]
    # the first sentence is always given, however long
    assert _group([_Candidate(1, 0, long * 3, "")], [0], np.eye(1))[0].text == long * 3


def _passage(text, heading="通知"):
    from assistant.search.results import SearchResult

    return SearchResult(rank=1, score=0.8, doc_id="d", title="通知", source="d.txt", year=2020, region="",
                        section_id="d:1", section_path=[heading], text=text, start=0, end=len(text))


def test_a_heading_that_states_something_is_a_candidate_a_title_is_not():
    from assistant.answers.answer import _candidates

    stated = "（十）健康申报证明从2月17日开始办理，至新冠肺炎疫情解除为止。"
    texts = [c.text for c in _candidates([_passage(stated + "附件：申报证明样式。", stated)])]
    assert texts[0] == stated  # a notice's numbered item: the heading is the answer
    title = "7.持续提升发展党员工作水平"
    texts = [c.text for c in _candidates([_passage(title + "。严把党员入口关，提高发展质量。", title)])]
    assert texts == ["严把党员入口关，提高发展质量。"]
    alone = "2、持证车辆不得搭载无关人员。"  # a passage that is only its heading says it
    assert [c.text for c in _candidates([_passage(alone, alone)])] == [alone]


def test_an_opening_formula_is_not_the_answer(monkeypatch):
    import numpy as np

    from assistant.answers import answer

    opening = "各县区人民政府，市政府各部门：为深入贯彻落实疫情防控部署，帮助企业复工复产，现提出如下措施。"
    measure = "企业要加强工作场所通风换气和清洁消毒。"
    passage = _passage(opening + measure + "其他事项另行通知。")

    class Embedder:  # the opening is the closer of the two to the question, as with the real model
        def encode(self, texts):
            return np.array([[1.0, 0.0]] + [[0.95, 0.31] if t == opening else [0.93, 0.37] for t in texts[1:]])

    a = Answerer.__new__(Answerer)
    a.searcher = Embedder()
    monkeypatch.setattr(answer, "MIN_SENTENCES", 1)
    monkeypatch.setattr(answer, "SENTENCE_SPREAD", 0.05)
    points, _ = a.extract("怎样防护？", [passage])
    assert points[0].text == measure + "其他事项另行通知。"  # the sentence after it leans back on it: said once
    monkeypatch.setattr(answer, "OPENING_PENALTY", 0.0)
    points, _ = a.extract("怎样防护？", [passage])
    assert opening in points[0].text


def test_the_sentence_after_the_best_comes_before_the_next_best():
    from assistant.answers.answer import _Candidate, _reading_order

    candidates = [_Candidate(1, i, f"第{i}句。", "") for i in range(4)]
    # best 0, then 2: 0's follower (1) first, then 2, then 2's follower (3)
    assert _reading_order(candidates, [0, 2]) == [0, 1, 2, 3]
    assert _reading_order(candidates, [2, 0]) == [2, 3, 0, 1]
