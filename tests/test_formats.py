"""Real office files made by the tests: encodings, .docx, .pdf, .html, .doc/.wps.
Each carries the headings of a seed; each test checks the recovered section paths."""

from __future__ import annotations

import os
import stat

import pytest

from indexer.parse import parse_text
from indexer.read import UnreadableFile, read_document

from .conftest import seed_text
from .formats import seed_outline, write_docx, write_html, write_pdf


def paths_of(path) -> list[tuple[str, ...]]:
    return [tuple(s.path) for s in parse_text(read_document(path), path.name).sections]


def item_paths(paths) -> list[tuple[str, ...]]:
    """Numbered sections only (openings may be labelled differently per format)."""
    return [p for p in paths if p[0][0] in "一二三四五六七八九十"]


# --- text encodings ------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "big5"])
def test_text_encodings(tmp_path, encoding):
    text = seed_text("wujin2024")
    if encoding == "big5":  # Big5 holds traditional characters only
        text = "各位代表：\n一、關於經濟建設\n1.發展生產。我們要繼續發展生產，改善人民生活。\n2.加強管理。提高效率。\n"
    path = tmp_path / f"plan-{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    got = read_document(path)
    assert got.replace("\r\n", "\n").lstrip("\ufeff") == text
    assert item_paths(paths_of(path)) == item_paths([tuple(s.path) for s in parse_text(text, "x").sections])


def test_markdown_law(tmp_path):
    path = tmp_path / "法.md"
    path.write_text("# 中华人民共和国某法\n\n## 第一章 总则\n\n第一条 为了规范，制定本法。\n\n第二条 适用本法。\n\n第三条 施行。\n",
                    encoding="utf-8")
    assert paths_of(path)[-1] == ("第一章 总则", "第三条")


# --- .docx ---------------------------------------------------------------------------------

def test_docx_numbering_tables_and_no_header_footer(tmp_path):
    expected, items = seed_outline(seed_text("wujin2024"))
    path = write_docx(tmp_path / "要点.docx", items, header="武进区教育局页眉", footer="第 1 页 共 5 页")
    text = read_document(path)
    assert "一、聚焦政治建设，提升向心力" in text  # the number exists only in numbering.xml
    assert "1.切实提高政治站位。" in text and "二、聚焦基层基础，提升组织力" in text
    assert "页眉" not in text and "共 5 页" not in text
    assert "新建学校 | 3所" in text  # the table, in order
    assert item_paths(paths_of(path)) == item_paths(expected)


def test_docx_number_formats():
    from indexer.formats.docx import format_number
    from indexer.textutil import cn_to_int, int_to_cn

    numbers = (1, 10, 11, 20, 23, 100, 105, 119, 3001, 20000)
    assert [int_to_cn(n) for n in numbers] == \
        ["一", "十", "十一", "二十", "二十三", "一百", "一百零五", "一百一十九", "三千零一", "二万"]
    assert [cn_to_int(int_to_cn(n)) for n in numbers] == list(numbers)
    assert cn_to_int("三万五千") == 35000 and cn_to_int("一亿") == 100_000_000 and cn_to_int("第三") is None
    assert format_number(3, "decimalEnclosedCircle") == "③"
    assert format_number(2, "ideographTraditional") == "乙"
    assert format_number(4, "upperRoman") == "IV"


def test_truncated_docx(tmp_path):
    good = write_docx(tmp_path / "a.docx", [(None, "", "正文。")])
    bad = tmp_path / "坏.docx"
    bad.write_bytes(good.read_bytes()[:500])
    with pytest.raises(UnreadableFile, match="损坏或不完整"):
        read_document(bad)


# --- .pdf ---------------------------------------------------------------------------------

def test_pdf_reading_order_headers_page_numbers(tmp_path):
    expected, items = seed_outline(seed_text("baoshan"))
    path = write_pdf(tmp_path / "宝山.pdf", items, header="中共上海市宝山区教育工作委员会文件（内部）")
    text = read_document(path)
    assert "— 1 —" not in text and "— 2 —" not in text  # page numbers gone
    assert "（内部）" not in text  # the running header gone
    doc = parse_text(text, "宝山.pdf")
    assert item_paths([tuple(s.path) for s in doc.sections]) == item_paths(expected)
    # lines rejoined into sentences: a sentence cut by a line and a page break is whole again
    assert "党员每年集中学习培训时间一般不少于32学时。" in doc.text


def test_pdf_without_text_layer_is_recognised_or_skipped_with_no_ocr(tmp_path):
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from indexer import ocr

    img = Image.effect_noise((200, 200), 64).convert("RGB")
    c = canvas.Canvas(str(tmp_path / "扫描件.pdf"))
    c.drawImage(ImageReader(img), 50, 400, 300, 300)
    c.showPage()
    c.save()
    with pytest.raises(UnreadableFile, match="没有识别出文字"):  # noise: OCR finds nothing to read
        read_document(tmp_path / "扫描件.pdf")
    with ocr.session(enabled=False), pytest.raises(UnreadableFile, match="需要先做 OCR 文字识别（本次以 --no-ocr 跳过）"):
        read_document(tmp_path / "扫描件.pdf")


def test_encrypted_pdf(tmp_path):
    from pypdf import PdfReader, PdfWriter

    _, items = seed_outline(seed_text("baoshan"))
    plain = write_pdf(tmp_path / "plain.pdf", items)
    writer = PdfWriter()
    for page in PdfReader(str(plain)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with open(tmp_path / "加密.pdf", "wb") as f:
        writer.write(f)
    with pytest.raises(UnreadableFile, match="加密"):
        read_document(tmp_path / "加密.pdf")


def test_truncated_pdf(tmp_path):
    _, items = seed_outline(seed_text("xqu"))
    data = write_pdf(tmp_path / "x.pdf", items).read_bytes()
    (tmp_path / "截断.pdf").write_bytes(data[: len(data) // 3])
    with pytest.raises(UnreadableFile):
        read_document(tmp_path / "截断.pdf")


# --- .html ---------------------------------------------------------------------------------

def test_html_body_only(tmp_path):
    expected, items = seed_outline(seed_text("wujin2023"))
    path = write_html(tmp_path / "要点.html", items, "2023年武进教育工作要点")
    text = read_document(path)
    for chrome in ("首页", "政务公开", "分享到", "微博", "网站标识码", "ICP", "发布时间", "console.log"):
        assert chrome not in text
    doc = parse_text(text, "要点.html")
    assert doc.meta.title == "2023年武进教育工作要点"
    assert item_paths([tuple(s.path) for s in doc.sections]) == item_paths(expected)


# --- .doc / .wps -----------------------------------------------------------------------------

def test_doc_without_a_converter_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (tmp_path / "旧.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(UnreadableFile, match=r"catdoc.*另存为 \.docx"):
        read_document(tmp_path / "旧.doc")
    (tmp_path / "旧.wps").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(UnreadableFile, match="libreoffice"):
        read_document(tmp_path / "旧.wps")


def test_doc_through_the_converter_found_on_the_machine(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "catdoc"
    tool.write_text("#!/bin/sh\nprintf '区教育局通知\\n一、总则\\n1.做好工作。内容。\\n'\n", encoding="utf-8")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + "/usr/bin:/bin")
    (tmp_path / "旧.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    assert paths_of(tmp_path / "旧.doc")[-1] == ("一、总则", "1.做好工作")


def test_stray_nul_bytes_are_dropped_wherever_they_are(tmp_path):
    text = seed_text("baoshan")
    data = bytearray(text.encode("utf-8"))
    for at in (10, 4000, len(data) - 10):  # in the first 8 KB and after it: the same outcome
        data[at:at] = b"\x00"
    (tmp_path / "a.txt").write_bytes(bytes(data))
    assert read_document(tmp_path / "a.txt") == text


def test_binary_data_named_txt_is_still_refused(tmp_path):
    (tmp_path / "a.txt").write_bytes(bytes(range(256)) * 40 + "发展党员".encode())
    with pytest.raises(UnreadableFile, match="二进制"):
        read_document(tmp_path / "a.txt")


def test_gbk_with_a_few_bad_bytes_is_kept_and_the_build_says_how_many(tmp_path):
    import random

    from indexer.build import build_index
    from indexer.embed import FakeEmbedder

    data = bytearray(seed_text("baoshan").encode("gbk"))
    for at in random.Random(1).sample(range(len(data)), len(data) // 100):  # about 1 % damaged
        data[at] = 0xFF
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "宝山.txt").write_bytes(bytes(data))
    text = read_document(corpus / "宝山.txt")
    assert "发展党员" in text and 0 < text.count("\ufffd") < len(text) // 20
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert report.documents == 1 and not report.skipped
    (warning,) = report.warnings
    assert warning.source == "宝山.txt" and f"有 {text.count(chr(0xFFFD))} 个字符无法按其编码识别" in warning.reason
