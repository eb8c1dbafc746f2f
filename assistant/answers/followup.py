"""Follow-up questions in a conversation: `那2024年呢`, `宝山区呢`, `具体有哪些指标` go on from
the question before. A follow-up is read as the previous question with its year or region
replaced, or with the new aspect added, and the page shows how it was understood
(`理解为：2024年 发展党员有哪些要求`). A question with a topic of its own starts afresh.
"""

from __future__ import annotations

import re

_YEAR = re.compile(r"(?:19|20)\d{2}\s*年(?:度)?")
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:自治区|特别行政区|省|市|区|县|镇|乡)")
_OPENERS = re.compile(r"^(?:那么|那|还有|另外|再问一下|再问|那请问|请问那|如果是|换成|改成|对于|关于)")
_TAIL = re.compile(r"(?:呢|吗|呀|啊|怎么样|如何|怎样|的情况|情况)?[？?。！!]*$")
# A question's asking part, taken off the previous question when a follow-up asks another thing.
_ASKING = re.compile(r"(?:有哪些|有什么|是什么|是多少|有多少|多少|怎么办|怎么做|如何|怎样|哪些)[\u4e00-\u9fff]{0,6}?[？?。]*$")
_ASPECTS = re.compile(r"^(?:具体)?(?:有哪些|有什么|是什么|是多少|有多少|多少|怎么办|如何|怎样)?"
                      r"(?:具体)?(?:指标|目标|要求|措施|做法|任务|数字|数据|时间|期限|部门|单位|标准|条件|规定|内容|安排|举措|重点|进展|情况)"
                      r"(?:是什么|有哪些|是多少|呢|吗)?[？?。]*$")
MAX_FOLLOW_UP = 16  # characters: a longer question carries its own topic


def understand(question: str, previous: str | None) -> tuple[str, bool]:
    """The question as it is to be answered, and whether it was read as a follow-up."""
    q = (question or "").strip()
    if not previous or not q or len(q) > MAX_FOLLOW_UP:
        return q, False
    opened = bool(_OPENERS.match(q)) or q.rstrip("？?。").endswith("呢")
    body = _OPENERS.sub("", q)
    years = _YEAR.findall(body)
    places = _PLACE.findall(_YEAR.sub(" ", body))
    rest = _TAIL.sub("", body)
    for part in years + places:
        rest = rest.replace(part, "")
    rest = rest.strip(" ，,、的")
    aspect = bool(rest) and bool(_ASPECTS.match(rest))
    if rest and not aspect and (not opened or len(rest) > 6):
        return q, False  # a topic of its own
    base = previous.strip()
    if years:
        base = _YEAR.sub("", base)
    if places:
        base = _PLACE.sub("", base)
    base = base.strip(" ，,")
    asking = _ASKING.search(base)
    if aspect:  # `具体有哪些指标`: the previous topic, asked about this
        base = (base[:asking.start()].strip() if asking else base) + rest
    elif rest:  # `那近视防控呢`: this topic, asked as before
        base = rest + (asking.group() if asking else "")
    prefix = "".join(y.replace(" ", "") for y in years) + "".join(places)
    return " ".join(x for x in (prefix, base) if x), True
