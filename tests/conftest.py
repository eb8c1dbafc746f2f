from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "dev.jsonl"
DEV_COLLOQUIAL = SHARED / "eval" / "dev-colloquial.jsonl"

SEED = {
    "jintan": CORPUS / "2023-金坛区委教育工委工作要点.txt",
    "wujin2024": CORPUS / "2024-武进教育党建工作要点.txt",
    "wujin2023": CORPUS / "2023-武进教育工作要点.txt",
    "xqu": CORPUS / "2023-X区教育局全面从严治党工作要点.txt",
    "baoshan": CORPUS / "2020-宝山区教育工委工作要点.txt",
}

# Two tiny documents with Chinese in them, for fast tests with the fake embedder.
MINI_DOCS = {
    "2023-甲区教育工作要点.txt": """甲区教育局2023年工作要点

2023年全区教育工作的总体要求是：落实立德树人根本任务，办好人民满意的教育。

一、加强党的建设
1.严格发展党员。坚持标准，把骨干教师培养成党员，严把党员入口关。
2.深化师德师风建设。建立师德师风承诺制，开展师德典型评选。
二、办好民生实事
3.增加学位供给。新建学校3所，增加学位2000个。
4.做好近视防控。确保儿童青少年近视率持续下降。
""",
    "2024-乙县教育工作要点.txt": """乙县教育局2024年工作要点

一、推进教育公平
（一）发展学前教育。新增普惠性幼儿园5所。
（二）保障特殊教育。为残疾儿童提供送教上门服务。
二、强化队伍建设
（一）加强教师培训。新教师岗前培训不少于120学时。
""",
}


def seed_text(name: str) -> str:
    return SEED[name].read_text(encoding="utf-8")


@pytest.fixture
def mini_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in MINI_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setenv("POLICYQA_MODEL", "fake")
    return "fake"


@pytest.fixture(scope="session")
def real_index(tmp_path_factory) -> Path:
    """The real corpus indexed with the real model, once per test session."""
    from indexer.build import build_index

    index_dir = tmp_path_factory.mktemp("real") / "index"
    build_index(CORPUS, index_dir)
    return index_dir


@pytest.fixture(scope="session")
def real_searcher(real_index):
    from assistant.search.index import load_index
    from assistant.search.retrieve import Searcher

    return Searcher(load_index(real_index))


def copy_corpus(dest: Path) -> Path:
    shutil.copytree(CORPUS, dest)
    return dest
