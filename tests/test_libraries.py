"""Several libraries on one server (issue 33): the libraries file and `policyqa library`, and
searching several libraries as one, their candidates fused together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.office.libraries import LibrariesError, LibrariesFile, open_libraries
from assistant.search.engine import open_engine
from assistant.search.federation import Federation
from indexer.build import build_index
from indexer.embed import FakeEmbedder

from .conftest import MINI_DOCS, ROOT

SAFETY = {
    "2024-丙区校园安全工作要点.txt": """丙区教育局2024年校园安全工作要点

一、校园安全
1.开展防溺水教育。暑假前组织防溺水专题教育，覆盖全部中小学生。
2.加强食品安全。学校食堂“明厨亮灶”全覆盖。
二、消防安全
3.开展消防演练。每学期至少组织一次疏散演练。
""",
}


def _library(root: Path, name: str, docs: dict[str, str]) -> Path:
    corpus = root / name / "corpus"
    corpus.mkdir(parents=True)
    for file, text in docs.items():
        (corpus / file).write_text(text, encoding="utf-8")
    build_index(corpus, root / name / "index", embedder=FakeEmbedder())
    return root / name / "index"


@pytest.fixture
def registry(tmp_path) -> LibrariesFile:
    registry = LibrariesFile(tmp_path / "libraries.json")
    _library(tmp_path, "teaching", MINI_DOCS)
    _library(tmp_path, "safety", SAFETY)
    registry.add("教学", "teaching/index", "teaching/corpus")  # relative to the file's folder
    registry.add("安全", str(tmp_path / "safety" / "index"))
    return registry


def test_several_libraries_are_searched_as_one_and_say_where_each_result_is_from(registry, fake_model):
    both = open_libraries(registry)
    assert isinstance(both, Federation) and len(both.documents()) == 3
    drowning = both.search("防溺水教育", k=3)
    assert drowning[0].library == "安全" and "防溺水" in drowning[0].text
    assert drowning[0].citation.startswith("［安全］丙区教育局2024年校园安全工作要点")
    assert [r.rank for r in drowning] == list(range(1, len(drowning) + 1))
    members = {r.library for r in both.search("教育工作", k=5)}
    assert members == {"教学", "安全"}
    doc = drowning[0]
    assert both.document(doc.doc_id).title.startswith("丙区") and both.sections(doc.doc_id)
    assert both.section(doc.section_id) is not None and "防溺水" in both.document_text(doc.doc_id)
    df, n = both.document_frequencies()
    assert n == sum(m.document_frequencies()[1] for m in both.members.values())
    assert "fused" not in drowning[0].to_json() and drowning[0].to_json()["library"] == "安全"


def test_one_library_alone_is_its_own_engine_and_its_results_unchanged(registry, fake_model):
    alone = open_libraries(registry, ["教学"])
    direct = open_engine(registry.location(registry.get("教学")))
    assert not isinstance(alone, Federation)
    ours = [(r.section_id, r.score) for r in alone.search("发展党员", k=3)]
    assert ours == [(r.section_id, r.score) for r in direct.search("发展党员", k=3)]
    assert alone.search("发展党员", k=1)[0].library == ""  # no library named in a single library's citations


def test_the_libraries_file_is_managed_and_checked(registry, tmp_path):
    registry.rename("安全", "校园安全")
    registry.grant("教学", "li", "reader")
    registry.grant("教学", "group:督导", "reader")
    registry.grant("教学", "li", "editor")  # a new grant replaces the old one
    lib = registry.get("教学")
    assert lib.readers == ["group:督导"] and lib.editors == ["li"]
    registry.revoke("教学", "li")
    assert registry.get("教学").editors == []
    for bad, why in [(lambda: registry.add("教学", "x"), "已有"), (lambda: registry.add("a b", "x"), "库名无效"),
                     (lambda: registry.get("无此库"), "没有名为"), (lambda: registry.rename("教学", "校园安全"), "已有"),
                     (lambda: registry.grant("教学", "li", "owner"), "权限")]:
        with pytest.raises(LibrariesError, match=why):
            bad()
    gone = registry.remove("校园安全")
    assert (tmp_path / "safety" / "index").is_dir() and gone.name == "校园安全"  # the folders stay
    (tmp_path / "broken.json").write_text("{}", encoding="utf-8")
    with pytest.raises(LibrariesError, match="不是 policyqa 库文件"):
        LibrariesFile(tmp_path / "broken.json").libraries()


def test_the_cli_manages_libraries_and_searches_them(registry, fake_model):
    def policyqa(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "webui.cli", *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "POLICYQA_LIBRARIES": str(registry.path)}, timeout=300)

    listed = policyqa("library", "list", "--json")
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["教学", "安全"]
    found = policyqa("search", "防溺水教育", "--json", "-k", "2")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["library"] == "安全"
    only = policyqa("search", "防溺水教育", "--library", "教学", "--json")
    assert all(r["library"] == "" and "丙区" not in r["title"] for r in json.loads(only.stdout)["results"])
    unknown = policyqa("search", "防溺水", "--library", "无此库")
    assert unknown.returncode != 0 and "没有名为“无此库”的库" in unknown.stderr and "Traceback" not in unknown.stderr
    assert policyqa("library", "grant", "教学", "li", "--as", "editor").returncode == 0
    assert registry.get("教学").editors == ["li"]


def test_libraries_together_rank_as_one_index_of_all_of_them(registry, tmp_path, fake_model):
    """Candidates of every library fused on one scale, each word's BM25 weighed by its IDF over all
    the libraries: the best result is the one an index of all their documents gives."""
    one = open_engine(_library(tmp_path, "one", {**MINI_DOCS, **SAFETY}))
    both = open_libraries(registry)
    for query in ("防溺水教育", "发展党员", "教师培训", "学位供给", "消防演练", "普惠性幼儿园"):
        assert both.search(query, k=1)[0].source == one.search(query, k=1)[0].source, query


def test_a_words_weight_together_is_its_weight_over_every_librarys_chunks(registry, fake_model):
    both = open_libraries(registry)
    teaching = both.members["教学"]
    scale = both._word_scale(teaching)
    assert scale("安全") < 1.0  # common in the safety library: it tells less once both are searched
    assert scale("党员") > 1.0  # only in teaching's: rarer among all the chunks than among its own


def test_who_may_read_and_edit_a_library(registry, tmp_path):
    from assistant.office.accounts import UsersFile
    from assistant.office.libraries import Person, may_edit, may_read, readable

    registry.grant("教学", "group:督导", "reader")
    registry.grant("教学", "wang", "editor")
    registry.grant("安全", "*", "reader")
    lib = registry.get("教学")
    zhao, wang, li = Person("zhao", ("督导",)), Person("wang"), Person("li", ("校办",))
    assert may_read(lib, zhao) and not may_edit(lib, zhao)
    assert may_read(lib, wang) and may_edit(lib, wang)
    assert not may_read(lib, li) and readable(registry, li) == ["安全"]  # `*`: every user
    assert readable(registry, Person("admin", is_admin=True)) == ["教学", "安全"]
    assert may_edit(registry.get("安全"), Person("admin", is_admin=True))

    users = UsersFile(tmp_path / "users.json")
    users.add("zhao", "reader", "zhao-pass-1", groups=["督导", "党建办"])
    users.add("zhao", "reader", "zhao-pass-2")  # a new password keeps the groups
    assert users.get("zhao").groups == ("督导", "党建办")
    out = subprocess.run([sys.executable, "-m", "webui.cli", "library", "access", "zhao", "--json", "--users",
                          str(users.path), "--libraries", str(registry.path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["libraries"] == [{"library": "教学", "read": True, "internal": False, "edit": False},
                                                  {"library": "安全", "read": True, "internal": False, "edit": False}]



def test_a_library_keeps_its_own_order_when_searched_beside_others(tmp_path, fake_model):
    """The libraries' results merge by a common level, but each library's own results come in the
    order it gives them alone: another library joining can displace them, never reorder them. Here
    督导 is rare in the first library and common in the second, 食堂 the other way round, so the
    common statistics alone would put the first library's 食堂 passage above its 督导 one."""
    canteens = {f"2024-{n}校食堂管理办法.txt": f"{n}校食堂管理办法\n\n一、总则\n1.食堂实行明厨亮灶，食堂食品留样。\n"
                for n in "甲乙丙丁戊己"}
    first = {**canteens, "2024-督导与食堂工作要点.txt": "督导与食堂工作要点\n\n一、督导\n1.开展责任督导，督导报告公开。\n"
             "二、食堂\n2.食堂管理，食堂从业人员持证上岗。\n"}
    second = {f"2024-{n}区督导办法.txt": f"{n}区督导办法\n\n一、总则\n1.督导评估，督导结果通报，督导问责。\n"
              for n in "子丑寅卯辰巳午未"}
    registry = LibrariesFile(tmp_path / "libraries.json")
    registry.add("一", str(_library(tmp_path, "first", first)))
    registry.add("二", str(_library(tmp_path, "second", second)))
    both, query = open_libraries(registry), "督导 食堂"
    assert "责任督导" in both.members["一"].search(query, k=1)[0].text  # alone: its rarer word's passage first
    for q in (query, "食堂管理", "督导评估", "明厨亮灶 督导"):
        merged = both.search(q, k=10)
        for name, member in both.members.items():
            mine = [r.section_id for r in merged if r.library == name]
            assert mine == [r.section_id for r in member.search(q, k=10)][:len(mine)], (q, name)
        assert [r.fused for r in merged] == sorted((r.fused for r in merged), reverse=True)
