"""Small character-level helpers shared by cleaning and structure parsing."""

from __future__ import annotations

import functools
import re
import unicodedata

CJK_RANGES = (
    ("\u3400", "\u4dbf"),
    ("\u4e00", "\u9fff"),
    ("\uf900", "\ufaff"),
)

# Sentence ends: a paragraph ending in one of these is complete.
TERMINAL = set("。！？；…!?;")
# Closing marks that may follow a terminal mark (`……。”`).
CLOSERS = set("”’」』）)》")


def is_cjk(ch: str) -> bool:
    return any(lo <= ch <= hi for lo, hi in CJK_RANGES)


def is_cjk_punct(ch: str) -> bool:
    return ch in "，。、；：？！“”‘’（）《》〈〉【】「」『』—…·〔〕［］～"


def display_width(text: str) -> float:
    """Width on a printed page: CJK and full-width forms count 1, ASCII 0.5."""
    width = 0.0
    for ch in text:
        width += 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5
    return width


def ends_sentence(text: str) -> bool:
    s = text.rstrip()
    while s and s[-1] in CLOSERS:
        # `（试行）` closes a title, not a sentence; only count closers after a terminal.
        s = s[:-1]
        if s and s[-1] in TERMINAL:
            return True
        if not s or s[-1] not in CLOSERS:
            return False
    return bool(s) and s[-1] in TERMINAL


_FULLWIDTH_ALNUM = {chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)}
_FULLWIDTH_ALNUM.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})
_FULLWIDTH_ALNUM.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})
_FULLWIDTH_TABLE = str.maketrans(_FULLWIDTH_ALNUM)


def fullwidth_alnum_to_ascii(text: str) -> str:
    return text.translate(_FULLWIDTH_TABLE)


_NORMALIZE_KEY = re.compile(r"[\W_]+")


def match_key(text: str) -> str:
    """The normalisation used by the evaluation's matching rule."""
    return _NORMALIZE_KEY.sub("", text)


@functools.lru_cache(maxsize=4096)
def cn_to_int(text: str, mode: str = "normal") -> int | None:
    """A Chinese numeral such as 十一, 一百零五, 三万五千 as an int (None if it is not one),
    read by cn2an; mode `smart` also reads a year digit by digit (二〇〇三)."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    import cn2an  # 0.1 s to import: only when a numeral is read

    try:
        value = cn2an.cn2an(text, mode)
    except (ValueError, KeyError, TypeError):
        return None
    return int(value) if float(value).is_integer() else None


def int_to_cn(n: int) -> str:
    """120 → 一百二十, as legal articles and Word's Chinese list numbers write it."""
    if n <= 0:
        return str(n)
    import cn2an

    return cn2an.an2cn(n, "low")


def article_label(number: str, sub: str = "") -> str:
    """An article as laws head it: (`10`, ``) → 第十条, (`一百二十`, `之一`) → 第一百二十条之一."""
    return f"第{int_to_cn(int(number)) if number.isdigit() else number}条{sub}"


CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*[”’）)]*")


def split_sentences(text: str) -> list[str]:
    """Sentences ending in 。！？；, closing quotes kept with their sentence."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
