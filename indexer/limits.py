"""How much one document may expand to, checked before the work on it starts.

A 648 KB `.docx` can hold 70 M characters of repeated text; without these limits it
would take hours of encoding and gigabytes of memory and block every build behind it.
The figures are far above any real policy document or statute (民法典: about 110 000
characters; the largest file of the laws corpus: 360 000) and are documented in the README.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .errors import UnreadableFile

MAX_FILE_BYTES = 50 * 1024 * 1024  # a file on disk
MAX_DOCUMENT_CHARS = 3_000_000  # the text a file turns into
MAX_DOCUMENT_CHUNKS = 20_000  # the chunks that text is cut into
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # all members of a zip package (.docx, .ofd) together
MAX_PACKING_RATIO = 100  # uncompressed / compressed size of one large member
_RATIO_APPLIES_FROM = 5 * 1024 * 1024  # small members may compress very well (styles, settings)


def check_package(path: Path) -> None:
    """A zip package whose members would unpack past the limits is refused unread."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: the format's reader says what is wrong with it
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise UnreadableFile(f"文件解压后过大（{total / 1024 / 1024:.0f} MB，上限 {MAX_UNPACKED_BYTES // 1024 // 1024} MB），"
                             "可能是压缩炸弹，已跳过")
    for m in members:
        if m.file_size >= _RATIO_APPLIES_FROM and m.file_size > MAX_PACKING_RATIO * max(m.compress_size, 1):
            raise UnreadableFile(f"文件中的 {m.filename} 压缩比异常（{m.file_size // max(m.compress_size, 1)} 倍，"
                                 f"上限 {MAX_PACKING_RATIO} 倍），可能是压缩炸弹，已跳过")


def check_text(text: str) -> str:
    if len(text) > MAX_DOCUMENT_CHARS:
        raise UnreadableFile(f"文档过长（{len(text):,} 字，上限 {MAX_DOCUMENT_CHARS:,} 字），已跳过；可拆分为多个文件")
    return text


def check_chunks(n: int) -> None:
    if n > MAX_DOCUMENT_CHUNKS:
        raise UnreadableFile(f"文档切分后文本块过多（{n:,} 个，上限 {MAX_DOCUMENT_CHUNKS:,} 个），已跳过；可拆分为多个文件")
