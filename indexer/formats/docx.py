""".docx: paragraphs and tables in document order; headers and footers left out (they
live in other parts of the package); Word's automatic numbering (`一、`, `1.`
produced by list styles, not present in the text) rebuilt from the numbering
definitions, so headings keep their numbers."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import UnreadableFile
from ..textutil import CIRCLED, int_to_cn

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _val(el, name: str, default=None):
    if el is None:
        return default
    child = el.find(W + name)
    return child.get(W + "val", default) if child is not None else default


# --- numbers in Word's formats -----------------------------------------------------

_HEAVENLY = "甲乙丙丁戊己庚辛壬癸"


def _roman(n: int) -> str:
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "japaneseCounting",
               "ideographLegalTraditional", "taiwaneseCounting", "taiwaneseCountingThousand"):
        return int_to_cn(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= len(CIRCLED):
        return CIRCLED[n - 1]
    if fmt == "ideographTraditional" and 1 <= n <= 10:
        return _HEAVENLY[n - 1]
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "upperRoman":
        return _roman(n)
    return str(n)


# --- numbering definitions ------------------------------------------------------------

class Numbering:
    """Counters for Word's lists, advanced paragraph by paragraph."""

    def __init__(self, document):
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}  # numId → ilvl → (start, fmt, text)
        self.counters: dict[str, dict[int, int]] = {}
        self.style_num: dict[str, tuple[str, int]] = {}
        self._read_definitions(document)
        self._read_styles(document)

    def _read_definitions(self, document) -> None:
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract = {}
        for an in root.findall(W + "abstractNum"):
            levels = {}
            for lvl in an.findall(W + "lvl"):
                ilvl = int(lvl.get(W + "ilvl", "0"))
                levels[ilvl] = (int(_val(lvl, "start", "1")), _val(lvl, "numFmt", "decimal"), _val(lvl, "lvlText", ""))
            abstract[an.get(W + "abstractNumId")] = levels
        for num in root.findall(W + "num"):
            levels = dict(abstract.get(_val(num, "abstractNumId"), {}))
            for override in num.findall(W + "lvlOverride"):
                ilvl = int(override.get(W + "ilvl", "0"))
                start = _val(override, "startOverride")
                if start is not None and ilvl in levels:
                    levels[ilvl] = (int(start), *levels[ilvl][1:])
            self.levels[num.get(W + "numId")] = levels

    def _read_styles(self, document) -> None:
        try:
            styles = document.styles.element
        except AttributeError:
            return
        by_id = {s.get(W + "styleId"): s for s in styles.findall(W + "style")}
        for style_id in by_id:
            seen, current = set(), by_id.get(style_id)
            while current is not None and style_id not in self.style_num and current.get(W + "styleId") not in seen:
                seen.add(current.get(W + "styleId"))
                num_pr = current.find(f"{W}pPr/{W}numPr")
                if num_pr is not None and _val(num_pr, "numId"):
                    self.style_num[style_id] = (_val(num_pr, "numId"), int(_val(num_pr, "ilvl", "0")))
                    break
                current = by_id.get(_val(current, "basedOn"))

    def label(self, p) -> str:
        """The number Word shows before paragraph `p`, advancing the counters."""
        ppr = p.find(W + "pPr")
        num_pr = ppr.find(W + "numPr") if ppr is not None else None
        num_id, ilvl = None, 0
        if num_pr is not None:
            num_id, ilvl = _val(num_pr, "numId"), int(_val(num_pr, "ilvl", "0"))
        elif ppr is not None and _val(ppr, "pStyle") in self.style_num:
            num_id, ilvl = self.style_num[_val(ppr, "pStyle")]
        if not num_id or num_id == "0" or num_id not in self.levels:
            return ""
        levels = self.levels[num_id]
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, levels[ilvl][0] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        start, fmt, text = levels[ilvl]
        if fmt in ("bullet", "none") or not text:
            return ""
        for k in range(ilvl, -1, -1):
            if f"%{k + 1}" in text and k in levels:
                value = counters.get(k, levels[k][0])
                text = text.replace(f"%{k + 1}", format_number(value, levels[k][1]))
        return text


# --- the body -----------------------------------------------------------------------------

def _paragraph_text(p) -> str:
    parts = []
    for node in p.iter(W + "t", W + "tab", W + "br", W + "cr"):
        tag = node.tag[len(W):]
        if tag == "t":
            parts.append(node.text or "")
        elif tag == "tab":
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _table_lines(tbl) -> list[str]:
    lines = []
    for tr in tbl.iter(W + "tr"):
        cells = []
        for tc in tr.findall(W + "tc"):
            cells.append(" ".join(_paragraph_text(p).strip() for p in tc.iter(W + "p")).strip())
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def _walk(body, numbering: Numbering, out: list[str]) -> None:
    for child in body.iterchildren():
        tag = child.tag[len(W):] if isinstance(child.tag, str) and child.tag.startswith(W) else ""
        if tag == "p":
            text = _paragraph_text(child)
            label = numbering.label(child)
            if text.strip() or label:
                out.append(label + text.strip())
        elif tag == "tbl":
            out.extend(_table_lines(child))
        elif tag == "sdt":  # content controls wrap ordinary paragraphs and tables
            content = child.find(W + "sdtContent")
            if content is not None:
                _walk(content, numbering, out)


def read_docx(path: Path) -> str:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnreadableFile("读取 .docx 需要 python-docx：pip install python-docx") from e
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError) as e:
        if zipfile.is_zipfile(path):
            raise UnreadableFile("Word 文件已损坏或不完整") from e
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise UnreadableFile("Word 文件已加密，或其实是旧版 .doc 格式（请另存为未加密的 .docx）") from e
        raise UnreadableFile("Word 文件已损坏或不完整") from e
    except Exception as e:  # lxml errors inside a damaged package
        raise UnreadableFile(f"Word 文件无法解析（{type(e).__name__}）") from e
    lines: list[str] = []
    _walk(document.element.body, Numbering(document), lines)
    return "\n".join(lines)
