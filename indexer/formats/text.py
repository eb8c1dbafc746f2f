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


def decode(data: bytes) -> str:
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise UnreadableFile("文件为空")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:
            return text
    except UnicodeDecodeError:
        pass
    text = _utf16_without_bom(data)
    if text is not None:
        return text
    if b"\x00" in data[:8192]:
        raise UnreadableFile("不是文本文件（含二进制数据）")
    return _guess(data)


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

    best = from_bytes(data, cp_isolation=_CANDIDATES).best()
    if best is not None and best.encoding and plausibility(str(best)) > 0.9:
        return str(best)
    try:
        text = data.decode("gb18030")
        if plausibility(text) > 0.9:
            return text
    except UnicodeDecodeError:
        pass
    if best is None:
        raise UnreadableFile("无法识别文本编码（请另存为 UTF-8）")
    raise UnreadableFile("不是文本文件（内容无法识别为文字）")
