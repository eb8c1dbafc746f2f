""".html / .htm saved from a government site: the document body only, without
navigation, share buttons and footers (trafilatura), its title first."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..errors import UnreadableFile

# Lines of article metadata that sites print above or below the text.
_INFO_LINE = re.compile(r"^(?:发布时间|发布日期|来源|信息来源|浏览次数|点击数|作者|责任编辑|编辑|字号)[:：].{0,80}$")


def read_html(path: Path) -> str:
    try:
        import trafilatura
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnreadableFile("读取网页需要 trafilatura：pip install trafilatura lxml_html_clean") from e
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    data = Path(path).read_bytes()
    if not data.strip():
        raise UnreadableFile("文件为空")
    try:
        body = trafilatura.extract(data, include_tables=True, include_comments=False, favor_recall=True,
                                   include_links=False, output_format="txt", deduplicate=False)
        meta = trafilatura.extract_metadata(data)
    except Exception as e:
        raise UnreadableFile(f"网页无法解析（{type(e).__name__}）") from e
    if not body or not body.strip():
        raise UnreadableFile("网页中没有找到正文")
    lines = [line for line in body.splitlines() if not _INFO_LINE.match(line.strip())]
    lines = [re.sub(r"\s*\|\s*$", "", line) for line in lines]  # table rows end with a bar
    title = (meta.title or "").strip() if meta else ""
    if title and title not in body[:200]:
        lines.insert(0, title)
    return "\n".join(lines)
