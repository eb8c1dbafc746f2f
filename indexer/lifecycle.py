"""What a document says of its own life: when it takes effect, until when, which documents it
repeals or amends, and the dated adoption and revision notes of its versions.

Each fact keeps the sentence it comes from, so that a status shown to users can be checked.
Which document in an index is in force is decided over the whole collection (assistant.search.standing);
this module reads one document.
"""

from __future__ import annotations

import re

from .textutil import cn_to_int

_NUM = r"[\d〇零一二三四五六七八九十]"
DATE_ANY = re.compile(rf"({_NUM}{{4}})\s*年\s*({_NUM}{{1,3}})\s*月\s*({_NUM}{{1,3}})\s*日")
_EFFECTIVE = re.compile(
    rf"(?:自|于|从)\s*(?:本\S{{0,4}}?)?(?P<when>{_NUM}{{4}}\s*年\s*{_NUM}{{1,3}}\s*月\s*{_NUM}{{1,3}}\s*日|"
    r"(?:公布|发布|印发|颁布|下发|通过)之日)\s*起(?:施行|实施|执行|生效)")
_EXPIRES = re.compile(rf"有效期(?:至|到|截至)\s*(?P<when>{_NUM}{{4}}\s*年\s*{_NUM}{{1,3}}\s*月\s*{_NUM}{{1,3}}\s*日)")
_YEARS_VALID = re.compile(r"(?:本\S{0,4}?)有效期(?:为)?\s*(?P<n>[\d一二三四五]{1,2})\s*年")
_REPEAL = re.compile(r"(?:同时|即行|随即|一并)?(?:废止|失效|停止执行)")
_QUOTED = re.compile(r"《([^《》]{2,80})》")
_ENDS_WITH_TITLE = re.compile(r"》\s*(?:[（(][^）)]{0,40}[）)])?\s*(?:同时|即行|随即|一并|予以|也|均)?$")
_VERSION_NOTE = re.compile(
    rf"^[（(]?\s*({_NUM}{{4}}\s*年\s*{_NUM}{{1,3}}\s*月\s*{_NUM}{{1,3}}\s*日)[^。]{{0,160}}?"
    r"(通过|修正|修订|公布|发布|施行|批准)")
_AMENDS_TITLE = re.compile(r"^(?:[\u4e00-\u9fff]{0,30})?关于修改[《〈<](?P<target>[^》〉>]+)[》〉>]")
_REPEALS_TITLE = re.compile(r"^(?:[\u4e00-\u9fff]{0,30})?关于废止[《〈<](?P<target>[^》〉>]+)[》〉>]")
_AMENDMENT_LAW = re.compile(r"^(?P<target>.+?)修正案(?:[（(][^）)]*[）)])?$")


def _number(text: str) -> int:
    """`2003` → 2003, `二〇〇三` → 2003, `十二` → 12 (0 for no number)."""
    return cn_to_int(text, "smart") or 0


def iso_date(text: str) -> str:
    """A written date (`2004年1月1日`, `一九九四年一月一日`) as yyyy-mm-dd, '' when it is none."""
    m = DATE_ANY.search(text)
    if not m:
        return ""
    y, mo, d = (_number(re.sub(r"\s", "", g)) for g in m.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1000 < y < 2200 and 1 <= mo <= 12 and 1 <= d <= 31 else ""


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[。；\n])", text) if s.strip()]


def canonical_title(title: str) -> str:
    """A title as other documents cite it: `〈〉`/`<>` as `《》`, no spaces, the state's name
    (`中华人民共和国`) left out because citations mostly leave it out too."""
    t = re.sub(r"\s+", "", title).replace("〈", "《").replace("〉", "》").replace("<", "《").replace(">", "》")
    t = t.replace("(", "（").replace(")", "）")
    return re.sub(r"^中华人民共和国", "", t)


def read_lifecycle(title: str, paragraphs: list[str], issued: str = "", notes: list[str] | None = None) -> dict:
    """The life facts of one document (empty fields left out):
    effective (date or `公布之日`…), expires, repeals / amends ([{title, sentence}]),
    versions ([{date, what, sentence}] from `notes`, the dated notes under the title), each with its sentence."""
    facts: dict = {}
    body = "\n".join(paragraphs)
    versions = []
    for note in notes or []:
        m = _VERSION_NOTE.match(note)
        if m and iso_date(m.group(1)):
            versions.append({"date": iso_date(m.group(1)), "what": m.group(2), "sentence": note[:200]})
    if versions:
        facts["versions"] = versions
    for sentence in _sentences(body):
        if "effective" not in facts:
            m = _EFFECTIVE.search(sentence)
            if m:
                when = iso_date(m["when"]) or m["when"].replace(" ", "")
                facts["effective"] = {"when": when, "sentence": sentence[:200]}
        if "expires" not in facts:
            m = _EXPIRES.search(sentence)
            if m and iso_date(m["when"]):
                facts["expires"] = {"when": iso_date(m["when"]), "sentence": sentence[:200]}
        for found in _repealed_in(sentence):
            facts.setdefault("repeals", []).append(found)
    _years_valid(facts, body, issued)
    _from_title(facts, title)
    return facts


def _repealed_in(sentence: str) -> list[dict]:
    """The documents a sentence repeals: the quoted titles right before `废止` in its last clause
    (`…的《行政复议条例》同时废止`, `原《X》和《Y》同时废止`), not those it merely cites."""
    found = []
    for m in _REPEAL.finditer(sentence):
        before = sentence[: m.start()]
        if not _ENDS_WITH_TITLE.search(before):
            continue
        clause = re.split(r"[，,；;：:]", before)[-1]
        for t in _QUOTED.findall(clause):
            if not re.match(r"关于(?:修改|废止)", t):
                found.append({"title": t, "sentence": sentence[:240]})
    return found


def _years_valid(facts: dict, body: str, issued: str) -> None:
    if "expires" in facts:
        return
    m = _YEARS_VALID.search(body)
    start = (facts.get("effective") or {}).get("when", "")
    start = start if re.fullmatch(r"\d{4}-\d\d-\d\d", start) else issued
    if m and start:
        n = _number(m["n"])
        end = f"{int(start[:4]) + n:04d}{start[4:]}"
        line = next(s for s in _sentences(body) if m.group() in s)
        facts["expires"] = {"when": end, "sentence": line[:200]}


def _from_title(facts: dict, title: str) -> None:
    """A decision that amends or repeals a document says so in its title; an amendment law
    (`刑法修正案（十二）`) amends the law it is named after."""
    t = canonical_title(title)
    m = _AMENDS_TITLE.match(t) or _AMENDMENT_LAW.match(t)
    if m:
        facts.setdefault("amends", []).append({"title": m["target"], "sentence": title})
    m = _REPEALS_TITLE.match(t)
    if m:
        facts.setdefault("repeals", []).append({"title": m["target"], "sentence": title})
