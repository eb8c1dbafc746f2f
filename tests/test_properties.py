"""Property tests: cleaning and structure parsing never raise on any text, and never lose
body text — every Chinese character of the input is in some section of the output, or in
a line cleaning recognised as chrome (page numbers, footers, bookmarks…)."""

from __future__ import annotations

import os
import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.clean import clean_text
from indexer.errors import UnreadableFile
from indexer.lines import title_block_length
from indexer.parse import parse_text
from indexer.structure import parse_sections

settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 150)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")

# The pieces policy documents are made of, and the scars extraction leaves on them.
PIECES = [
    "一、", "二、", "三、", "十一、", "（一）", "（二）", "(三)", "1.", "2．", "3、", "（1）", "(2)", "①", "②",
    "第一条", "第二条", "第十条", "第一章", "第二节", "第一部分", "# ", "## ", "### ",
    "—4—", "- 3 -", "第3页 共9页", "—", "[bookmark: _Hlk131512965]", "常州市金坛区教育局办公室  2023年4月25日印发",
    "坛教委字〔2023〕20号", "2023年", "12000个", "不少于32学时", "20%", "《条例》", "“双培养”", "‘一岗双责’",
    "VIP专免", "侵权投诉", "标签:", "展开>>", "本作品在全世界都属于公有领域",
    "\n", "\n", "\n\n", "\n\n\n", " ", "  ", "\u3000", "\t", "\r\n", "\f", "\u200b", "\ufeff",
    "。", "，", "；", "：", "！", "？", "、", ",", ".", ";", ":", "(", ")", "<script>", "&nbsp;",
]
CJK = "发展党员教育学校工作要点加强建设推进全面落实师德师风近视防控校园欺凌乡村教师培训办学条件國務院關於"
text_strategy = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(alphabet=CJK, min_size=1, max_size=40),
        st.text(max_size=6),  # anything at all, including control and surrogate-free odd characters
    ),
    max_size=80,
).map("".join)


def ideographs(text: str) -> Counter:
    return Counter(IDEOGRAPH.findall(text))


def covered_text(text: str, sections) -> str:
    covered = bytearray(len(text))
    for s in sections:
        assert 0 <= s.start <= s.end <= len(text), (s.key, s.start, s.end, len(text))
        covered[s.start:s.end] = b"\x01" * (s.end - s.start)
    return "".join(ch for ch, c in zip(text, covered) if c)


@given(text_strategy)
def test_cleaning_and_structure_never_raise_and_keep_every_character(raw):
    cleaned = clean_text(raw)
    sections = parse_sections(cleaned.paragraphs)
    assert len({s.key for s in sections}) == len(sections)
    title_block = cleaned.paragraphs[:title_block_length(cleaned.paragraphs)] if sections else []
    kept = (ideographs(covered_text(cleaned.text, sections)) + ideographs("".join(cleaned.removed))
            + ideographs("".join(title_block)))  # title, issuer, number, date: kept as the document's metadata
    lost = ideographs(raw) - kept
    assert not lost, f"lost {dict(lost)}"


@given(text_strategy)
def test_parse_text_gives_a_document_or_a_reason(raw):
    try:
        doc = parse_text(raw, "测试.txt")
    except UnreadableFile as e:  # only when nothing but chrome and punctuation was there
        assert "没有正文" in str(e)
        assert not any(ch.isalnum() for ch in clean_text(raw).text)
        return
    assert doc.meta.title
    if doc.sections:
        paths = [s.path for s in doc.sections]
        assert all(isinstance(p, list) and all(isinstance(x, str) and x for x in p) for p in paths)
