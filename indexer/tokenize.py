"""Words for the keyword (BM25) side: jieba with a dictionary of policy terms."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import threading
from pathlib import Path

from .cache import derived, policyqa_cache
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
    files = [POLICY_TERMS]
    extra = os.environ.get("POLICYQA_USER_DICT")
    if extra:
        files.append(Path(extra))
    tk.FREQ, tk.total, tk.user_word_tag_tab = derived(_cache_path(tk, files), lambda: _dictionary(tk, files),
                                                      _read_dictionary, _write_dictionary)
    tk.initialized = True
    return tk


def _dictionary(tk, files: list[Path]) -> tuple[dict, int, dict]:
    tk.initialize()
    for path in files:
        for word, freq, tag in read_term_file(path):
            tk.add_word(word, freq, tag)
    return tk.FREQ, tk.total, tk.user_word_tag_tab


# jieba keeps its parsed dictionary with marshal, which takes ~0.8 s to load; the same
# dictionary, with our terms already added, loads from a pickle in ~0.2 s.

def _cache_path(tk, files: list[Path]) -> Path:
    import jieba

    h = hashlib.sha1(f"{jieba.__version__}:{pickle.HIGHEST_PROTOCOL}".encode())
    main = Path(tk.dictionary or Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME)
    st = main.stat()
    h.update(f"{main.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    for path in files:
        data = path.read_bytes()
        h.update(f"{len(data)}:".encode() + data)
    return policyqa_cache() / "jieba" / f"{h.hexdigest()[:20]}.pickle"


def _read_dictionary(path: Path):
    with open(path, "rb") as f:
        value = pickle.load(f)  # our own cache file, written below
    ok = isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], dict) and isinstance(value[1], int)
    return value if ok else None


def _write_dictionary(value, tmp: Path) -> None:
    with open(tmp, "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)


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


_pos = None


def _pos_tokenizer():
    global _pos
    if _pos is None:
        import jieba.posseg

        words = tokenizer()  # takes the lock itself
        with _lock:
            if _pos is None:
                _pos = jieba.posseg.POSTokenizer(words)
    return _pos


def part_of_speech(text: str, guess: bool = True) -> list[tuple[str, str]]:
    """jieba's words of `text` with their part-of-speech tags (`n`, `ns` a place, `v`…);
    without `guess`, only the dictionary's words (no HMM words for unknown runs)."""
    return [(w.word, w.flag) for w in _pos_tokenizer().cut(text, HMM=guess)]


def word_tag(word: str) -> str:
    """The dictionary's tag of a word ('' for a word it does not know); our terms first."""
    pos = _pos_tokenizer()
    return pos.tokenizer.user_word_tag_tab.get(word) or pos.word_tag_tab.get(word, "")
