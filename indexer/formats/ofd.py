""".ofd (GB/T 33190, the fixed-layout format of national e-government systems): the text of
every page in reading order, the document's title from its DocInfo, and the text of its
attachments that are text.

An OFD file is a zip of XML parts: `OFD.xml` names the document root (`Doc_0/Document.xml`),
which lists the pages (`Pages/Page_0/Content.xml`) and the attachments. A page's text is in
`TextObject` elements, each placed by its `Boundary` (x y w h, in millimetres) with
`TextCode` runs at X/Y inside it. No well-kept OFD reader installs from PyPI without native
parts, so this one reads the XML with the standard library: a few dozen lines.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from .. import limits
from ..errors import UnreadableFile

_TEXT_ATTACHMENTS = (".txt", ".md", ".xml", ".html", ".htm")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el, name: str):
    return [c for c in el.iter() if _local(c.tag) == name]


def _first(el, name: str):
    return next((c for c in el.iter() if _local(c.tag) == name), None)


class _Package:
    """The zip's parts, each read counted against one budget: a part named by 60 000 pages
    counts 60 000 times, so a small file cannot make the reader unpack gigabytes."""

    def __init__(self, z: zipfile.ZipFile):
        self.z = z
        self.names = {n.lstrip("/"): n for n in z.namelist()}
        self.unpacked = 0

    def size(self, name: str) -> int:
        key = name.lstrip("/")
        return self.z.getinfo(self.names[key]).file_size if key in self.names else 0

    def within_budget(self, parts: list[str], what: str) -> None:
        """Refuse before unpacking parts whose declared sizes, with what was read already,
        pass the budget."""
        if self.unpacked + sum(self.size(part) for part in parts) > limits.MAX_PACKAGE_READ:
            raise UnreadableFile(f"OFD 文件的{what}解压后共超过 {limits.MAX_PACKAGE_READ // 1024 // 1024} MB"
                                 "（同一部分被反复引用），可能是压缩炸弹，已跳过")

    def xml(self, name: str):
        raw = self.read(name)
        try:
            return ElementTree.fromstring(raw)
        except ElementTree.ParseError as e:
            raise UnreadableFile(f"OFD 文件中的 {name} 已损坏") from e

    def read(self, name: str) -> bytes:
        key = name.lstrip("/")
        if key not in self.names:
            raise UnreadableFile(f"OFD 文件不完整（缺少 {name}）")
        info = self.z.getinfo(self.names[key])
        if info.file_size > limits.MAX_XML_PART:
            raise UnreadableFile(f"OFD 文件中的 {name} 过大")
        self.within_budget([name], "内容")
        self.unpacked += info.file_size
        return self.z.read(info)


def _resolve(base: str, location: str) -> str:
    """OFD locations are relative to the part that names them, or absolute from the root."""
    location = (location or "").strip()
    return location.lstrip("/") if location.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(base), location))


def read_ofd(path: Path) -> str:
    if not zipfile.is_zipfile(path):
        raise UnreadableFile("不是有效的 OFD 文件（OFD 应为 zip 包）")
    try:
        with zipfile.ZipFile(path) as z:
            return _read(_Package(z))
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise UnreadableFile(f"OFD 文件已损坏或不完整（{type(e).__name__}）") from e


def _read(pkg: _Package) -> str:
    root = pkg.xml("OFD.xml")
    body = _first(root, "DocBody")
    doc_root = _first(body, "DocRoot") if body is not None else None
    if doc_root is None or not (doc_root.text or "").strip():
        raise UnreadableFile("OFD 文件中没有文档（缺少 DocRoot）")
    title_el = _first(body, "Title")
    title = (title_el.text or "").strip() if title_el is not None else ""
    doc_name = doc_root.text.strip().lstrip("/")
    document = pkg.xml(doc_name)
    parts = [_resolve(doc_name, page.get("BaseLoc")) for page in _children(document, "Page") if page.get("BaseLoc")]
    limits.check_pages(len(parts), "OFD 文件")
    pkg.within_budget(parts, "页面")
    budget = limits.TextBudget()
    lines = []
    for part in parts:
        lines += [budget.add(line) for line in _page_lines(pkg.xml(part))]
    attachments = _first(document, "Attachments")
    if attachments is not None and (attachments.text or "").strip():
        lines += [budget.add(line) for line in _attachment_lines(pkg, _resolve(doc_name, attachments.text))]
    if not any(line.strip() for line in lines):
        raise UnreadableFile("OFD 文件中没有可提取的文字（可能是扫描件）")
    if title and title not in "".join(lines[:5]):
        lines.insert(0, title)
    return "\n".join(lines)


def _page_lines(page) -> list[str]:
    """The page's text runs, placed by position, as lines top to bottom, left to right."""
    runs = []
    for obj in _children(page, "TextObject"):
        try:
            bx, by, _, _ = (float(v) for v in obj.get("Boundary", "0 0 0 0").split()[:4])
            size = float(obj.get("Size", "3.5"))
        except ValueError:
            bx, by, size = 0.0, 0.0, 3.5
        for code in _children(obj, "TextCode"):
            text = (code.text or "").strip()
            if text:
                runs.append((by + float(code.get("Y", "0") or 0), bx + float(code.get("X", "0") or 0), size, text))
    runs.sort()
    lines: list[list[tuple]] = []
    for run in runs:
        if lines and abs(run[0] - lines[-1][0][0]) <= 0.5 * max(run[2], lines[-1][0][2]):
            lines[-1].append(run)
        else:
            lines.append([run])
    return ["".join(r[3] for r in sorted(line, key=lambda r: r[1])) for line in lines]


def _attachment_lines(pkg: _Package, index: str) -> list[str]:
    from .text import decode

    found = []  # (name, part) of the text attachments, the first MAX_ATTACHMENTS
    for att in _children(pkg.xml(index), "Attachment"):
        loc = _first(att, "FileLoc")
        if loc is None or not (loc.text or "").strip():
            continue
        part = _resolve(index, loc.text)
        if Path(part).suffix.lower() in _TEXT_ATTACHMENTS or (att.get("Format") or "").lower() in ("txt", "text"):
            found.append((att.get("Name") or loc.text, part))
    found = found[:limits.MAX_ATTACHMENTS]
    pkg.within_budget([part for _, part in found], "附件")
    out = []
    for name, part in found:
        try:
            text = decode(pkg.read(part))
        except UnreadableFile:
            continue
        out += [f"附件：{name}", *text.splitlines()]
    return out
