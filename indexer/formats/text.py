"""Plain text and Markdown in UTF-8 (with or without BOM), UTF-16, GB18030/GBK or Big5."""

from __future__ import annotations

import codecs

from ..errors import UnreadableFile

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# Encodings Chinese documents come in; charset-normalizer chooses among them.
_CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16_le", "utf_16_be"]


def plausibility(text: str) -> float:
    """Share of characters that Chinese documents are made of: CJK ideographs and
    punctuation, full-width forms, ASCII. Bytes decoded with the wrong codec score low."""
    sample = text[:5000]
    if not sample:
        return 0.0
    good = 0
    for ch in sample:
        o = ord(ch)
        if (0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF or 0x2000 <= o <= 0x206F
                or 0x20 <= o < 0x7F or ch in "\n\r\t"):
            good += 1
    return good / len(sample)


# Binary data: more than this share of NUL or other control bytes. A stray NUL in a text
# file (a padded export, a bad copy) is dropped wherever it is, not a reason to refuse the file.
BINARY_SHARE = 0.01
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b")
# Text with a few bytes its encoding does not define (a damaged GBK file) is kept, each bad
# byte shown as U+FFFD; the build says how many. Beyond this share it is not that encoding.
MAX_REPLACED_SHARE = 0.05


def decode(data: bytes) -> str:
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise UnreadableFile("文件为空")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    text = _utf16_without_bom(data)
    if text is not None:
        return text
    if looks_binary(data):
        raise UnreadableFile("不是文本文件（含二进制数据）")
    data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _guess(data)


def looks_binary(data: bytes) -> bool:
    sample = data[:1 << 16]
    odd = sample.count(0) + len(sample) - len(sample.translate(None, _CONTROL))
    return odd > BINARY_SHARE * len(sample)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 saved without a BOM decodes into plausible text; other bytes do not."""
    if len(data) < 4 or len(data) % 2:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if plausibility(text) > 0.95:
            return text
    return None


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    utf8 = data.decode("utf-8", errors="replace")  # UTF-8 with a damaged byte or two
    if utf8.count("\ufffd") <= 0.001 * len(utf8) and plausibility(utf8) > 0.9:
        return utf8
    best = from_bytes(data, cp_isolation=_CANDIDATES).best()
    if best is not None and best.encoding and plausibility(str(best)) > 0.9:
        return str(best)
    damaged = [data.decode(encoding, errors="replace") for encoding in ("gbk", "gb18030", "big5")]
    damaged = [t for t in damaged if t.count("\ufffd") <= MAX_REPLACED_SHARE * len(t)
               and plausibility(t.replace("\ufffd", "")) > 0.9]
    if damaged:  # a few bytes the encoding does not define: the reading that keeps most
        return max(damaged, key=plausibility)  # replaced bytes and stray symbols both count against
    if best is None:
        raise UnreadableFile("无法识别文本编码（请另存为 UTF-8）")
    raise UnreadableFile("不是文本文件（内容无法识别为文字）")
