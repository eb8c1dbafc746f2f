"""Words for the keyword (BM25) side: jieba with a dictionary of policy terms."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from .chinese import to_simplified
from .errors import PolicyQAError

DATA = Path(__file__).parent / "data"
POLICY_TERMS = DATA / "policy_terms.txt"

# Function words and question words that carry no topic.
STOPWORDS = frozenset(
    "的 了 和 与 及 以及 等 在 是 有 为 对 把 被 将 从 向 以 于 之 也 又 并 而 或 其 该 这 那 这些 那些 "
    "哪些 哪个 什么 怎么 怎样 如何 怎么样 多少 几 吗 呢 吧 啊 呀 么 要 会 能 可以 应该 需要 "
    "我 我们 你 你们 他 他们 它 各 每 一个 一些 有关 关于 进行 开展 工作 方面 情况".split()
)
_WORD = re.compile(r"[\w\u4e00-\u9fff]")

_lock = threading.Lock()
_tokenizer = None


class TermFileError(PolicyQAError, ValueError):
    pass


def read_term_file(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Parse a jieba-style term file; bad lines raise with their line number."""
    entries = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) > 3 or (len(parts) >= 2 and not parts[1].isdigit()):
            raise TermFileError(f"{path}:{n}: 格式应为“词语 [词频] [词性]”：{raw!r}")
        entries.append((parts[0], int(parts[1]) if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None))
    return entries


def _build():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    files = [POLICY_TERMS]
    extra = os.environ.get("POLICYQA_USER_DICT")
    if extra:
        files.append(Path(extra))
    for path in files:
        for word, freq, tag in read_term_file(path):
            tk.add_word(word, freq, tag)
    return tk


def tokenizer():
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _build()
    return _tokenizer


def tokenize(text: str) -> list[str]:
    """Search-mode words (a compound and its parts) of the simplified text, lower-cased,
    without stopwords."""
    words = []
    for w in tokenizer().lcut_for_search(to_simplified(text)):
        w = w.strip().lower()
        if w and w not in STOPWORDS and _WORD.search(w):
            words.append(w)
    return words
