"""Document metadata from the title block of a Chinese official document.

Title, issuing organisation, document number, date, year, region and type are
read from what the document says; a field the text does not give stays empty.
"""

from __future__ import annotations

import re
from collections import Counter

from .lifecycle import DATE_ANY, iso_date, read_lifecycle
from .lines import (
    DATE,
    DOC_NUMBER,
    DOC_TYPES,
    HEADING_START,
    ISO_DATE,
    ORG_LINE,
    ORG_SUFFIX,
    TITLE_SUFFIX,
    classify_line,
    title_block_length,
)
from .places import chain_of, first_place, known
from .records import DocMeta

YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年")
# A speech or report dated in its subtitle: `——2023年3月5日在第十四届全国人民代表大会第一次会议上`
SUBTITLE_DATE = re.compile(r"^[—－-]{1,2}\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# The year a file name leads with or names (`2023-金坛区…`, `2023年…报告`): the last resort
YEAR_IN_FILE_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|[-_.\s])")
ORG_IN_TITLE = re.compile(
    rf"^(?:(?:19|20)\d{{2}}年)?(?P<org>[\u4e00-\u9fff]{{2,30}}?{ORG_SUFFIX})"
    r"(?=(?:19|20)\d{2}|关于|[\u4e00-\u9fff]{0,12}(?:工作要点|要点|报告|通知|意见|决定|决议|办法))"
)
# `第十四届全国人民代表大会第三次会议关于…` → 全国人民代表大会: the body, without its term and session
ORG_BEFORE_ABOUT = re.compile(
    rf"^(?:(?:19|20)\d{{2}}年)?(?:第[一二三四五六七八九十]+届)?(?P<org>[\u4e00-\u9fff]{{2,30}}?(?:{ORG_SUFFIX}|大会))"
    r"(?:第[一二三四五六七八九十]+次会议)?关于")
_REGION_STOP = set("全本我各该市城社园景校学片辖新地特治自行政专小大分军战省县区街")


_NOTICE_OF = re.compile(r"^(?:[\u4e00-\u9fff]{2,30}?)?关于印发[《〈](?P<inner>.+?)[》〉]的?(?:通知)?$")


def _pick_title(lines: list[str]) -> str:
    titles = [p.lstrip("# ").strip() for p in lines if classify_line(p) == "title"]
    if not titles:
        return ""
    for t in titles:
        m = _NOTICE_OF.match(t)
        if m:
            return m["inner"]  # a notice that issues a plan: the plan is the document
    # A line that names a kind of document (`…政府工作报告`, `…工作要点`) outranks a later short line that
    # names none: a report's first section (`首先报告２００１年的工作`, `关于国内建设`) after `各位代表：`.
    typed = [t for t in titles if _names_a_kind(t)]
    if typed and not _names_a_kind(titles[-1]):
        titles = titles[: titles.index(typed[-1]) + 1]
    at = len(titles) - 1
    if at > 0 and titles[at - 1].startswith("关于") and not _names_a_kind(titles[at - 1]) \
            and not titles[at].startswith("关于"):
        return titles[at - 1] + titles[at]  # one title over two lines: `关于加强…` `支持…的通知`
    last = titles[-1]
    # `2023年中华人民共和国国务院政府工作报告` above `政府工作报告`: the fuller name of the same document
    fuller = [t for t in titles[:-1] if last in t and len(t) > len(last)]
    return fuller[0] if fuller else last


def _names_a_kind(title: str) -> bool:
    base = TITLE_SUFFIX.sub("", title).strip()
    return any(base.endswith(t) for t in DOC_TYPES)


def _doc_type(title: str) -> str:
    base = TITLE_SUFFIX.sub("", title).strip()
    for t in DOC_TYPES:
        if base.endswith(t):
            return t
    for t in DOC_TYPES[:-1]:
        if t in base:
            return t
    return ""


def _iso(m: re.Match) -> str:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return ""
    return f"{y:04d}-{mo:02d}-{d:02d}"


_REGION = re.compile(r"([\u4e00-\u9fff]{1,4}|X)([区县])(?![域间块别分位])")


def _region_candidates(text: str) -> list[str]:
    """Districts and counties named in a text: 金坛区, 宝山区 (from 上海市宝山区), X区."""
    found = []
    for m in _REGION.finditer(text):
        name = re.split("[省市州共]", m.group(1))[-1]
        at_start = m.start() == 0 and len(name) == 1 and name not in _REGION_STOP  # 甲区教育局…
        if name == "X" or at_start:
            found.append(name + m.group(2))
        elif (len(name) >= 2 and name[-1] not in _REGION_STOP) or (len(name) >= 3 and name[-1] == "新"):
            place = _place_name(text, m.end(), name + m.group(2))
            if place:
                found.append(place)
    return found


def _place_name(text: str, end: int, name: str) -> str:
    """The place that `name` (a `…区`/`…县` ending at `end` in `text`) names, by jieba's reading
    of the words around it: none when 区/县 begins another word (`区外`, `和县级`) or follows a
    verb or a function word (`关于县`); the whole word when jieba knows one (`印发顺义区` →
    顺义区); none when a common noun of that form ends it (`隔离区`, `自然保护区`, `出口加工区`)."""
    from .tokenize import part_of_speech, word_tag

    at = max(0, end - 12)
    before = ("", "")
    for word, flag in part_of_speech(text[at:end + 6], guess=False):
        if at + len(word) >= end:
            break
        at += len(word)
        before = (word, flag)
    if at + len(word) > end:
        return ""
    if len(word) >= 3:
        name = word
    elif len(word) == 1 and before[1][:1] in _NOT_A_NAME and (len(before[0]) > 1 or before[1][:1] != "v"):
        return ""
    if word_tag(name)[:2] in ("ns", "nr"):
        return name
    tails = (word_tag(name[-k:]) for k in range(2, len(name) + 1))
    return "" if any(t and t[:2] not in ("ns", "nr") for t in tails) else name


# jieba's tags of words that do not end a place's name: verbs (of two characters or more: 经开区
# is cut 经/开/区), prepositions, conjunctions, adverbs, particles, pronouns.
_NOT_A_NAME = set("vpcdur")


_REGION_IN_BODY = re.compile(r"(?<=[《“省市])([\u4e00-\u9fff]{2,3}|X)([区县])(?![域间块别分位])")
_PLACE_BEFORE_EDU = re.compile(r"^(?:(?:19|20)\d{2}年)?([\u4e00-\u9fff]{2,3}?)(?:教育|区委|县委)")


def _region(title: str, org: str, body: str) -> str:
    for text in (title, org):
        found = _region_candidates(text)
        if found:
            return found[0]
    m = _PLACE_BEFORE_EDU.match(title)
    if m and m.group(1)[-1] in "区县市":
        return m.group(1)
    if m:
        level = Counter(re.findall(r"(?:全|我|本)([区县市])", body)).most_common(1)
        if level and level[0][0] in "区县":
            return m.group(1) + level[0][0]
    if re.search(r"(?:^|[^\u4e00-\u9fff])[区县](?:教育|委|人民政府|政府)", title + " " + org):
        # The title names no place (`区教育局…`): take one the body names unambiguously,
        # after a city or at the start of a quoted name (`《X区教育系统…》`).
        counts = Counter(m.group(1) + m.group(2) for m in _REGION_IN_BODY.finditer(body))
        if counts:
            return counts.most_common(1)[0][0]
    return ""


_MD_TITLE = re.compile(r"^#\s+(\S.*)$")  # one `#`: the document's own title


def markdown_title(paragraphs: list[str]) -> str:
    """A Markdown document's `# 标题` at its top. Consecutive ones name a code and its part
    (`# 中华人民共和国民法典` `# 合同编` → `中华人民共和国民法典 合同编`)."""
    parts = []
    for p in paragraphs[:3]:
        m = _MD_TITLE.match(p)
        if not m:
            break
        parts.append(m[1].strip())
    return " ".join(parts)


def extract_metadata(paragraphs: list[str], print_date: str = "", file_name: str = "",
                     declared_title: str = "") -> DocMeta:
    """`declared_title`: a title the file states outside its text (front matter)."""
    head = paragraphs[:12]
    meta = DocMeta()
    block = title_block_length(paragraphs)
    # A title is looked for in the title block and, for notices that issue a plan,
    # in the short lines before the first heading. A title the file declares (front matter,
    # a Markdown `# 标题`) is better evidence than any line that merely looks like one.
    # (a line with clauses there is the body's first sentence: `现在，我代表国务院，…并请…提出意见`)
    # (a numbered heading there is the body's first item: `五、加强医务人员健康监测及感染报告`)
    candidates = paragraphs[:block] + [p for p in head[block:] if classify_line(p) == "title" and "，" not in p
                                       and not HEADING_START.match(p)]
    meta.title = (markdown_title(paragraphs) or declared_title or _pick_title(candidates)
                  or (paragraphs[0].lstrip("# ").strip() if block else ""))
    meta.headline = meta.title
    meta.title = _with_subtitle(meta.title, paragraphs)
    joint = _issuers_above(meta.title, paragraphs)
    if joint:
        meta.title = " ".join(joint + [meta.title]) if ORG_BEFORE_ABOUT.match(meta.title) else " ".join(joint)
        meta.org = "、".join(joint + ([m["org"]] if (m := ORG_BEFORE_ABOUT.match(meta.title.split(" ")[-1])) else []))
    for p in head:
        kind = classify_line(p)
        if kind == "org" and not meta.org:
            meta.org = ORG_LINE.match(p.strip())["org"]
            meta.org = re.sub(r"^(?:第[一二三四五六七八九十]+届)", "", meta.org)
        m = DOC_NUMBER.search(p)
        if m and not meta.doc_number and len(p) <= 40:
            meta.doc_number = m.group().replace(" ", "")
    if not meta.org:
        m = ORG_BEFORE_ABOUT.match(meta.title) or ORG_IN_TITLE.match(meta.title)
        if m:
            meta.org = m["org"]
    notes = _adoption_notes(paragraphs[1:12])
    if notes and not meta.org:
        joint = JOINT_ORGS.match(meta.title)
        ordered = [n for n in notes if ORDER_NUMBER.search(n)]  # the body whose order published it
        meta.org = joint["orgs"] if joint else _org_of_note((ordered or notes)[0])
    if not meta.doc_number:
        meta.doc_number = next((m.group() for n in notes for m in [ORDER_NUMBER.search(n)] if m), "")
    meta.doc_number = normalise_number(meta.doc_number)
    # a law's text is the version of its latest note (a revision, or the date it took effect)
    # (or of its file name's date, when an archive names the version the notes do not list yet)
    meta.date = max([iso_date(n) for n in notes] + [_file_name_date(file_name)]) if notes else \
        _find_date(head, print_date, file_name)
    if not meta.date or not meta.org:
        org, date = signature(paragraphs)
        meta.org, meta.date = meta.org or org, meta.date or date
    meta.year = _year(meta) or _session_year(meta.title) or _file_name_year(file_name)
    context = "\n".join(paragraphs[:60])
    # a province or city the issuer's name opens with; the title's only when the issuer is not known
    # (a national body's `上海航运交易所管理规定` is no Shanghai document)
    meta.region = _region(meta.title, meta.org, context) or (first_place(meta.org) if meta.org else first_place(meta.title))
    meta.places = chain_of(meta.region, meta.title + meta.org + context) if known_place(meta.region) else []
    meta.doc_type = _doc_type(meta.title)
    meta.lifecycle = read_lifecycle(meta.title, paragraphs, meta.date, notes)
    return meta


# A notice signs at its end: `…落实到位。 人力资源社会保障部 财政部 税务总局 2020年2月20日（信息公开形式：主动公开）`
_SIGNED = re.compile(r"(?P<date>\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*(?:[（(][^）)]{0,20}[）)])?\s*$")
_SIGNER = re.compile(rf"(?:[\u4e00-\u9fff（）()]{{2,30}}?{ORG_SUFFIX}[\s　、]*)+$")


def signature(paragraphs: list[str]) -> tuple[str, str]:
    """(issuer, ISO date) of the signature closing a document, ('', '') when it has none."""
    tail = " ".join(p.strip() for p in paragraphs[-3:])[-160:]
    m = _SIGNED.search(tail)
    if not m or not iso_date(m["date"]):
        return "", ""
    before = tail[: m.start()].rstrip(" 　")
    last = re.split(r"[。；！？：:]", before)[-1].strip()
    signer = _SIGNER.search(last)
    org = re.sub(r"[\s　]+", "、", signer.group().strip(" 　、")) if signer else ""
    return org, iso_date(m["date"])


def _with_subtitle(title: str, paragraphs: list[str]) -> str:
    """A headline in two parts (`抗击疫情同聚力` `落实优惠促发展`, a news title and its subtitle): the second
    joins the first when both are short lines that are neither sentences, datelines (`新华社…电（记者`)
    nor lines of a title block."""
    if len(paragraphs) < 3 or paragraphs[0].strip() != title or len(title) > 30 \
            or "关于" in title or title.endswith("书"):  # a formal title (a notice, a 倡议书) has no news subtitle
        return title
    second = paragraphs[1].strip()
    if 4 <= len(second) <= 32 and not re.search(r"[。；：:！？!?，,（(\d【\[]|讯$", second) \
            and classify_line(second) == "" and not HEADING_START.match(second):
        return f"{title} {second}"
    return title


def _issuers_above(title: str, paragraphs: list[str]) -> list[str]:
    """Bodies that issue a document together, one per line above its title or opening it
    (`商务部办公厅` above `财政部办公厅关于…的紧急通知`; `人力资源社会保障部` `财政部` `税务总局`)."""
    lines = []
    for p in paragraphs[:6]:
        m = ORG_LINE.match(p.strip())
        if not m or len(p.strip()) > 20:
            break
        lines.append(m["org"])
    if title in lines:
        return lines if len(lines) >= 2 else []  # no title of its own: the bodies are its heading
    return lines if lines and ORG_BEFORE_ABOUT.match(title) else []


def known_place(region: str) -> bool:
    return bool(region) and known(region)


# The dated notes under a law's title: `2017年6月27日 第十二届全国人民代表大会常务委员会…修正`.
_NOTE = re.compile(r"^[（(]?\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_NOTE_ORG = re.compile(
    r"^(?:第[一二三四五六七八九十]+届)?(?P<org>[\u4e00-\u9fff]{2,30}?)"
    r"(?:第[一二三四五六七八九十百\d]+次|常务会议|令第|公告|审判委员会|检察委员会|通过|批准|发布|公布)")
ORDER_NUMBER = re.compile(r"[\u4e00-\u9fff]{2,24}令(?:第[\d一二三四五六七八九十百]+号|[（(]第[\d一二三四五六七八九十百]+号[)）])")


def _adoption_notes(lines: list[str]) -> list[str]:
    """The dated adoption, publication and revision notes under a title (a law's 题注), one per
    date even when cleaning joined them into one paragraph."""
    notes = []
    for p in lines:
        s = p.strip()
        if _NOTE.match(s) and iso_date(s):
            starts = [m.start() for m in _NOTE_START.finditer(s)] + [len(s)]
            notes += [s[a:b].strip() for a, b in zip(starts, starts[1:]) if iso_date(s[a:b])]
        elif notes or classify_line(p) == "":
            break
    return [n for n in notes if len(n) <= 200]


_NOTE_START = re.compile(r"(?:^|(?<=[\s）)。]))[（(]?\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?!起)|"
                         r"(?<=[过正订布行准])\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")


# `最高人民法院、最高人民检察院关于…`: bodies that issue a text together, as the title names them
JOINT_ORGS = re.compile(rf"^(?P<orgs>[\u4e00-\u9fff]{{2,20}}?{ORG_SUFFIX}?(?:[、\s]+[\u4e00-\u9fff]{{2,20}}?(?:{ORG_SUFFIX}|院))+)关于")


def _org_of_note(note: str) -> str:
    """The body a note says adopted or issued the text: `…第十二届全国人民代表大会常务委员会第二十八次会议通过`
    → 全国人民代表大会常务委员会, `国务院第175次常务会议通过` → 国务院, `中华人民共和国交通部令第8号发布` → 交通部."""
    rest = DATE_ANY.sub("", note, count=1).strip().lstrip("（(").strip()
    rest = re.sub(r"^[经由]", "", rest)
    m = ORDER_NUMBER.search(rest)
    if m:
        return re.sub(r"^中华人民共和国", "", re.sub(r"令(?:第|[（(]).*$", "", m.group()))
    m = _NOTE_ORG.match(rest)
    if not m:
        return ""
    org = re.sub(r"^中华人民共和国", "", m["org"])
    return org if re.search(ORG_SUFFIX + r"$|(?:法院|检察院|大会|委员会|会议)$", org) else ""


# The year each National People's Congress opened; its plenary sessions are yearly, so
# `第十四届全国人民代表大会第三次会议` met in 2023 + 3 − 1.
_NPC_FIRST_YEAR = {1: 1954, 2: 1959, 3: 1964, 4: 1975, 5: 1978, 6: 1983, 7: 1988, 8: 1993, 9: 1998, 10: 2003,
                   11: 2008, 12: 2013, 13: 2018, 14: 2023}
_NPC_SESSION = re.compile(r"第([一二三四五六七八九十]+)届全国人民代表大会第([一二三四五六七八九十]+)次会议")


def _session_year(title: str) -> int | None:
    from .lifecycle import _number

    m = _NPC_SESSION.search(title)
    if not m or _number(m[1]) not in _NPC_FIRST_YEAR:
        return None
    return _NPC_FIRST_YEAR[_number(m[1])] + _number(m[2]) - 1


_BRACKETS = str.maketrans({"[": "〔", "［": "〔", "(": "〔", "（": "〔", "]": "〕", "］": "〕", ")": "〕", "）": "〕",
                           **{chr(0xFF10 + i): str(i) for i in range(10)}})
NUMBER_TAIL = re.compile(r"〔(\d{4})〕第?(\d{1,4})号$")


def normalise_number(number: str) -> str:
    """One spelling of a document number: `苏教办[2023]12号`, `苏教办（2023）12号` → `苏教办〔2023〕12号`."""
    n = re.sub(r"\s+", "", number)
    m = re.search(r"[〔\[［(（]\s*[\d０-９]{4}\s*[〕\]］)）]\s*第?[\d０-９]{1,4}号$", n)
    if not m:
        return n
    tail = m.group().translate(_BRACKETS).replace("第", "")
    return n[: m.start()] + tail


def _find_date(head: list[str], print_date: str, file_name: str) -> str:
    for p in head:
        if classify_line(p) == "date":
            m = DATE.fullmatch(p.strip()) or ISO_DATE.fullmatch(p.strip())
            if m and _iso(m):
                return _iso(m)
    for p in head:
        m = SUBTITLE_DATE.match(p.strip())
        if m and _iso(m):
            return _iso(m)
    if print_date:
        return print_date
    return _file_name_date(file_name)


def _file_name_date(file_name: str) -> str:
    m = re.search(r"[(（](\d{4})-(\d{1,2})-(\d{1,2})[)）]", file_name)
    return _iso(m) if m else ""


def _file_name_year(file_name: str) -> int | None:
    m = YEAR_IN_FILE_NAME.search(file_name)
    return int(m.group(1)) if m else None


def _year(meta: DocMeta) -> int | None:
    m = YEAR_IN_TITLE.search(meta.title)
    if m:
        return int(m.group(1))
    m = DOC_NUMBER.search(meta.doc_number)
    if m:
        return int(m.group(1))
    if meta.date:
        return int(meta.date[:4])
    return None
