"""Scanned PDFs, photos, TIFFs and OFD: reading order, rotation, the marks of a scan, the
cache, bad inputs; one page through the real OCR models end to end."""

from __future__ import annotations

import pytest

from indexer import limits, ocr
from indexer.build import build_index
from indexer.embed import FakeEmbedder
from indexer.errors import UnreadableFile
from indexer.ocr import Line, drop_marks, reading_order
from indexer.parse import parse_text
from indexer.read import read_document

from . import scans

needs_font = pytest.mark.skipif(not scans.font_available(), reason="needs fonts-wqy-microhei (apt-get install)")


def line(text, x0, y0, x1, y1, red=False, score=0.99):
    return Line(text, (x0, y0, x1, y1), score, red)


def test_lines_are_read_top_to_bottom_and_joined_left_to_right():
    lines = [line("第二行", 100, 200, 400, 230), line("第一行左", 100, 100, 300, 130), line("第一行右", 320, 102, 500, 128)]
    assert reading_order(lines, 1240) == ["第一行左第一行右", "第二行"]


def test_a_two_column_page_is_read_column_by_column():
    lines = [line("通栏标题", 100, 50, 1100, 90)]
    for i in range(6):
        y = 150 + 50 * i
        lines += [line(f"左{i}", 100, y, 560, y + 30), line(f"右{i}", 680, y, 1140, y + 30)]
    assert reading_order(lines, 1240) == ["通栏标题", *[f"左{i}" for i in range(6)], *[f"右{i}" for i in range(6)]]


def test_the_seal_and_page_numbers_are_left_out_and_the_red_header_kept():
    lines = [line("某某区教育局文件", 200, 80, 1000, 160, red=True), line("正文第一句。", 100, 300, 900, 330),
             line("某某区教育局", 800, 1400, 1000, 1440, red=True), line("— 3 —", 560, 1680, 680, 1710),
             line("2023年4月25日", 800, 1460, 1100, 1490)]
    kept = [x.text for x in drop_marks(lines, 1240, 1754)]
    assert kept == ["某某区教育局文件", "正文第一句。", "2023年4月25日"]


def test_a_turned_page_is_read_in_the_orientation_that_reads_best(monkeypatch):
    from PIL import Image

    seen = []

    def fake_lines(image):
        seen.append(image.size)
        if image.size == (200, 100):  # the page turned back upright
            return [line(f"第{i}行文字内容", 10, 10 + 20 * i, 190, 25 + 20 * i) for i in range(5)]
        return [line("乱", 10, 10, 20, 90, score=0.3)]  # tall boxes, poorly read

    monkeypatch.setattr(ocr, "_lines", fake_lines)
    page = ocr.recognise(Image.new("RGB", (100, 200), "white"))
    assert page.rotation in (90, 270) and page.text.startswith("第0行文字内容") and (200, 100) in seen


def test_a_file_is_recognised_once_then_read_from_the_cache(monkeypatch, tmp_path):
    from PIL import Image

    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(ocr, "recognise", lambda image, n: calls.append(n) or ocr.PageText(n, "一、总则\n1.内容。", 0.99))
    path = tmp_path / "照片.png"
    Image.new("RGB", (60, 40), "black").save(path)  # not blank: a blank page is never recognised
    assert "一、总则" in read_document(path)
    moved = tmp_path / "moved" / "别的名字.png"
    moved.parent.mkdir()
    moved.write_bytes(path.read_bytes())
    assert "一、总则" in read_document(moved)
    assert calls == [1]  # a moved or re-indexed file is never recognised twice


def test_bad_inputs_are_skipped_with_their_reasons(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "坏图.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (corpus / "空.pdf").write_bytes(b"")
    (corpus / "不是压缩包.ofd").write_bytes("这不是 OFD".encode())
    Image.new("L", (10_000, 10_000), 255).save(corpus / "超大.png", optimize=False)
    (corpus / "正常.txt").write_text("某局通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    reasons = {s.source: s.reason for s in report.skipped}
    assert "图片已损坏" in reasons["坏图.png"] and "文件为空" in reasons["空.pdf"]
    assert "不是有效的 OFD" in reasons["不是压缩包.ofd"] and "图片过大" in reasons["超大.png"]
    assert report.documents == 1


def test_too_many_pages_to_recognise_are_refused(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(limits, "MAX_SCAN_PAGES", 2)
    frames = [Image.new("RGB", (40, 40), "white") for _ in range(3)]
    frames[0].save(tmp_path / "多页.tiff", save_all=True, append_images=frames[1:])
    with pytest.raises(UnreadableFile, match="超过上限 2 页"):
        read_document(tmp_path / "多页.tiff")


def test_no_ocr_skips_scans_with_the_reason(tmp_path):
    from PIL import Image

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    Image.new("RGB", (60, 40), "white").save(corpus / "照片.jpg")
    (corpus / "正常.txt").write_text("某局通知\n一、总则\n1.做好工作。内容。\n", encoding="utf-8")
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder(), use_ocr=False)
    (skipped,) = report.skipped
    assert skipped.source == "照片.jpg" and "--no-ocr" in skipped.reason


def test_an_ofd_with_two_pages_and_headings_is_indexed_with_its_sections(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    scans.write_ofd(corpus / "通知.ofd", "某区教育局2025年工作要点",
                    [["某区教育局2025年工作要点", "一、加强党的建设", "1.严格发展党员。把骨干教师培养成党员。"],
                     ["二、办好民生实事", "2.增加学位供给。新建学校3所，增加学位2000个。"]],
                    attachment="附件说明：学位统计表见教育局网站。")
    doc = parse_text(read_document(corpus / "通知.ofd"), "通知.ofd")
    assert doc.meta.title == "某区教育局2025年工作要点"
    paths = [s.path for s in doc.sections]
    assert ["一、加强党的建设", "1.严格发展党员"] in paths and ["二、办好民生实事", "2.增加学位供给"] in paths
    assert "学位统计表" in doc.text
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert report.documents == 1 and not report.skipped


@needs_font
@pytest.mark.model
def test_one_scanned_page_end_to_end(tmp_path, monkeypatch):
    """A page rendered from a seed plan, skewed, blurred, saved as JPEG and turned 90°, inside a
    PDF after a typed page: recognised with the real models, its items become sections."""
    monkeypatch.setenv("POLICYQA_CACHE", str(tmp_path / "cache"))
    text = ("中共某某区教育工作委员会2020年工作要点\n一、以组织体系建设为载体，着力夯实党建之基\n"
            "1.从严教育管理。认真落实党员教育管理工作条例，党员每年集中学习培训时间一般不少于32学时。\n"
            "2.做强党建品牌。打造区域化党建服务品牌，评选示范党组织。")
    scan = scans.scan_pages(text, header="中共某某区教育工作委员会", seal="某某区教育工委", skew=0.8, blur=0.5, jpeg=75,
                            rotate_page=1)
    pdf = scans.text_and_scan_pdf(["某某区教育局文件\n关于印发2020年工作要点的通知\n各学校：现将工作要点印发给你们。"], scan,
                                  tmp_path / "混合.pdf")
    progress = []
    with ocr.session(progress=lambda stage, done, total: progress.append((stage, done, total))) as s:
        doc = parse_text(read_document(pdf), "混合.pdf")
    assert progress[-1] == ("文字识别", 1, 1) and s.pages == 1
    assert "各学校：现将工作要点印发给你们" in doc.text  # the typed page, as text
    assert doc.text.index("印发给你们") < doc.text.index("从严教育管理")  # pages in order
    keys = [s.path[-1] for s in doc.sections]
    assert "1.从严教育管理" in keys and "2.做强党建品牌" in keys
    assert doc.text.index("中共某某区教育工作委员会") < doc.text.index("从严教育管理")  # the red header stays
    assert "不少于32学时" in doc.text and "某某区教育工委" not in doc.text  # the seal is not body text
