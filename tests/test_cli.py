"""The command line, driven in-process with the fake embedder and a temporary index."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.cli.commands import main

RESULT_KEYS = {"rank": int, "score": float, "doc_id": str, "title": str, "source": str, "year": (int, type(None)),
               "region": str, "section_id": str, "section_path": list, "text": str, "start": int, "end": int}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def index_dir(mini_corpus, tmp_path, fake_model, capsys):
    index_dir = tmp_path / "index"
    code, out, _ = run(capsys, "index", mini_corpus, "--index", index_dir)
    assert code == 0
    return index_dir


def test_index_summary_and_up_to_date(mini_corpus, index_dir, capsys):
    code, out, _ = run(capsys, "index", mini_corpus, "--index", index_dir)
    assert code == 0 and "索引已是最新" in out and "2 个文档" in out
    (mini_corpus / "坏文件.txt").write_bytes(b"\x00\xff" * 100)
    code, out, _ = run(capsys, "index", mini_corpus, "--index", index_dir)
    assert code == 0 and "跳过 1 个文件" in out and "坏文件.txt" in out


def test_index_json_summary(mini_corpus, tmp_path, fake_model, capsys):
    code, out, _ = run(capsys, "index", mini_corpus, "--index", tmp_path / "i", "--json")
    report = json.loads(out)
    assert code == 0 and report["documents"] == 2 and sorted(report["added"]) == sorted(p.name for p in mini_corpus.iterdir())


def test_search_json_shape(index_dir, capsys):
    code, out, _ = run(capsys, "search", "发展党员", "--index", index_dir, "--json", "-k", "3")
    assert code == 0
    data = json.loads(out)
    assert data["query"] == "发展党员"
    assert 1 <= len(data["results"]) <= 3
    for r in data["results"]:
        for key, kind in RESULT_KEYS.items():
            assert isinstance(r[key], kind), key
        assert all(isinstance(h, str) for h in r["section_path"])
    top = data["results"][0]
    assert top["section_path"] == ["一、加强党的建设", "1.严格发展党员"]
    assert top["source"] == "2023-甲区教育工作要点.txt"
    assert "甲区教育局" not in top["text"]


def test_search_readable_output(index_dir, capsys):
    code, out, _ = run(capsys, "search", "发展党员", "--index", index_dir, "-k", "2")
    assert code == 0
    assert "1. 甲区教育局2023年工作要点 › 一、加强党的建设 › 1.严格发展党员" in out
    assert "【发展党员】" in out  # query words marked
    assert "得分" in out


def test_search_filters(index_dir, capsys):
    code, out, _ = run(capsys, "search", "教育", "--index", index_dir, "--json", "--year", "2024", "-k", "10")
    assert code == 0 and {r["year"] for r in json.loads(out)["results"]} == {2024}
    code, out, err = run(capsys, "search", "教育", "--index", index_dir, "--year", "二〇二四")
    assert code == 1 and "年份" in err


def test_batch_search(index_dir, tmp_path, capsys):
    batch = tmp_path / "q.jsonl"
    batch.write_bytes(
        '{"question": "发展党员"}\n近视防控\n\n{"q": "缺字段"}\nnot json {\n'.encode() + b"\xff\xfe\n"
        + '{"question": "特殊教育"}\n'.encode()
    )
    code, out, err = run(capsys, "search", "--batch", batch, "--index", index_dir, "--json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    answered = [x for x in lines if "error" not in x]
    assert [x["query"] for x in answered] == ["发展党员", "特殊教育"]
    errors = {x["line"]: x["error"] for x in lines if "error" in x}
    assert errors == {2: "不是合法的 JSON", 4: "缺少 question 字段", 5: "不是合法的 JSON", 6: "不是合法的 UTF-8 文本"}
    assert all(f"第 {n} 行" in err for n in errors)


def test_batch_of_plain_lines(index_dir, tmp_path, capsys):
    batch = tmp_path / "q.txt"
    batch.write_text("发展党员\n\n近视防控\n{不是 JSON\n", encoding="utf-8")
    code, out, err = run(capsys, "search", "--batch", batch, "--index", index_dir, "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [x["query"] for x in lines if "error" not in x] == ["发展党员", "近视防控"]
    assert [(x["line"], x["error"]) for x in lines if "error" in x] == [(4, "不是合法的 JSON")]


def test_eval(index_dir, tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "q1", "question": "发展党员", "type": "lexical",
                    "gold": [{"key": "严把党员入口关", "heading": "严格发展党员"}]}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    code, out, _ = run(capsys, "eval", gold, "--index", index_dir, "--json")
    assert code == 0
    assert json.loads(out)["overall"] == {"questions": 1, "recall@5": 1.0, "hit@5": 1.0, "mrr@10": 1.0}
    code, out, _ = run(capsys, "eval", gold, "--index", index_dir)
    assert "recall@5 1.0000" in out


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_query(index_dir, capsys, query):
    code, _, err = run(capsys, "search", query, "--index", index_dir)
    assert code == 1 and "查询内容为空" in err


def test_missing_index(tmp_path, fake_model, capsys):
    code, _, err = run(capsys, "search", "发展党员", "--index", tmp_path / "none")
    assert code == 1 and "找不到索引" in err and "policyqa index" in err


def test_missing_corpus(tmp_path, fake_model, capsys):
    code, _, err = run(capsys, "index", tmp_path / "none", "--index", tmp_path / "i")
    assert code == 1 and "找不到文档文件夹" in err


def test_model_mismatch_names_the_rebuild_command(index_dir, capsys):
    code, _, err = run(capsys, "search", "发展党员", "--index", index_dir, "--model", "m3e-small")
    assert code == 1 and "--rebuild" in err


def test_bad_k_and_bad_gold(index_dir, tmp_path, capsys):
    code, out, err = run(capsys, "search", "发展党员", "--index", index_dir, "-k", "0")
    assert code == 1 and err.strip() == "错误：结果数 -k 应在 1 到 200 之间（收到 0）" and not out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    code, _, err = run(capsys, "eval", bad, "--index", index_dir)
    assert code == 1 and "第 1 行" in err


def test_console_script_gives_no_traceback(tmp_path):
    exe = [sys.executable, "-m", "assistant.cli"]
    proc = subprocess.run(exe + ["search", "发展党员", "--index", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "找不到索引" in proc.stderr and "Traceback" not in proc.stderr
