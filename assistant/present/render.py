"""HTML for the page. Every piece of document text is escaped: a document that
contains `<script>` or Markdown shows it as text."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from ..answers.llm import markers_in
from ..answers.record import Answer
from ..search.results import SearchResult
from .highlight import find_spans, query_terms


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def highlighted(text: str, terms: list[str]) -> str:
    """Escape `text` and wrap the query's words in <mark>."""
    out, last = [], 0
    for s, e in find_spans(text, terms):
        out.append(esc(text[last:s]))
        out.append(f"<mark>{esc(text[s:e])}</mark>")
        last = e
    out.append(esc(text[last:]))
    return "".join(out).replace("\n", "<br>")


def citation(r: SearchResult) -> str:
    return r.citation


def section_link(doc_id: str, key: str) -> str:
    """A link that opens the 文档 tab at this section of its document."""
    return f"?doc={quote(doc_id)}&section={quote(key)}"


def filter_notice(filters) -> str:
    """`已按 2020 年、宝山区筛选`: a result list narrowed by filters says so."""
    if not filters:
        return ""
    parts = [f"{y} 年" for y in sorted(filters.years)] + sorted(filters.regions)
    if filters.docs:
        parts.append(f"{len(filters.docs)} 个文档")
    if filters.current_only:
        parts.append("只看现行有效")
    chips = "".join(f'<span class="pq-chip">{esc(p)}</span>' for p in parts)
    return f'<div class="pq-filtered">已按 {chips} 筛选（点“清除筛选”看全部结果）</div>'


def conversation_html(turns: list[dict]) -> str:
    """The conversation's earlier questions and answers, newest last, each with its citations."""
    if not turns:
        return ""
    items = []
    for t in turns:
        asked = esc(t["question"])
        read = f'<span class="pq-meta">（理解为：{esc(t["understood"])}）</span>' if t["understood"] != t["question"] else ""
        items.append(f'<details class="pq-turn"><summary>问：{asked}{read}</summary>{t["html"]}</details>')
    return f'<div class="pq-history"><div class="pq-sources-head">本次对话</div>{"".join(items)}</div>'


def result_cards(query: str, results: list[SearchResult], empty: str = "") -> str:
    if not results:
        return f'<div class="pq-empty">{esc(empty or f"没有找到与“{query}”相关的内容。")}</div>'
    terms = result_terms(query, results)
    cards = []
    for r in results:
        meta = " · ".join(esc(x) for x in (r.doc_number, r.date, r.source) if x)
        key = r.section_id.partition("#")[2]
        cards.append(
            f'<div class="pq-card" id="passage-{r.rank}" data-section="{esc(r.section_id)}">'
            f'<div class="pq-cite">[{r.rank}] {esc(citation(r))}</div>'
            f'<div class="pq-meta">相关度 {r.score:.2f}{" · " + meta if meta else ""}'
            f' · <a class="pq-open" href="{esc(section_link(r.doc_id, key))}" target="_blank">在原文中查看</a></div>'
            f'<div class="pq-text">{highlighted(r.text, terms)}</div>{_matched(r)}{_copies(r)}'
            f"</div>"
        )
    return "\n".join(cards)


def _copies(r: SearchResult) -> str:
    """The other documents that say the same passage, each a link to its section."""
    if not r.copies:
        return ""
    links = [f'<a class="pq-open" href="{esc(section_link(c.doc_id, c.section_id.partition("#")[2]))}" '
             f'target="_blank">{esc(c.citation)}</a>' for c in r.copies]
    return f'<div class="pq-meta pq-copies">相同段落也见于：{"；".join(links)}</div>'


def _matched(r: SearchResult) -> str:
    """Which words of the question, and which expansions of its everyday words, matched."""
    if not r.matched_terms:
        return ""
    labels = [esc(m["term"]) + (f'<span class="pq-via">（由“{esc(m["from"])}”）</span>' if m.get("from") else "")
              for m in r.matched_terms]
    return f'<div class="pq-matched">匹配：{"、".join(labels)}</div>'


def result_terms(query: str, results: list[SearchResult]) -> list[str]:
    """Words to mark in the cards: the question's, and the expansions that matched."""
    terms = set(query_terms(query))
    for r in results:
        terms |= {m["term"] for m in r.matched_terms if len(m["term"]) >= 2}
    return sorted(terms, key=len, reverse=True)


_MARKER = re.compile(r"\[(\d{1,3})\]")


def _with_markers(text: str) -> str:
    """Escape text, then show [n] markers as links to the passage cards, kept on the line of
    the text they follow (a word joiner before each, and no break inside a run of them)."""
    def link(m: re.Match) -> str:
        return f'&#8288;<a class="pq-ref" href="#passage-{m.group(1)}">[{m.group(1)}]</a>'

    return re.sub(r"((?:\[\d{1,3}\])+)", lambda run: f'<span class="pq-refs">{_MARKER.sub(link, run.group(1))}</span>',
                  esc(text))


def cited_passages(ans: Answer) -> list[SearchResult]:
    """The passages the answer cites; all of them while a generated answer is still being written."""
    if ans.mode == "generative":
        cited = set(markers_in(ans.text))
    else:
        cited = {n for p in ans.points for n in p.citations}
    return [r for r in ans.passages if r.rank in cited] or ans.passages


# How each kind of answer was made, above its points.
ANSWER_HEADS = {"overview": "回答（按文件的标题结构列出）", "count": "回答（按文件的标题结构计数）",
                "which": "回答（检索了范围内的全部文件）", "first": "回答（检索了范围内的全部文件）",
                "last": "回答（检索了范围内的全部文件）", "catalogue": "回答（索引中的文件目录）", "compare": "回答（逐项摘自各自的文件）",
                "series": "回答（逐年摘自各自的文件）"}


def _table_html(rows: list[dict]) -> str:
    body = "".join(f"<tr><td>{esc(r['side'])}</td><td>{_with_markers(r['text'] + ''.join(f'[{n}]' for n in r.get('citations', [])))}"
                   f"</td></tr>" for r in rows)
    return f'<table class="pq-sides"><thead><tr><th>范围</th><th>内容</th></tr></thead><tbody>{body}</tbody></table>'


def answer_html(ans: Answer) -> str:
    if ans.status != "ok":
        return f'<div class="pq-answer pq-none">{esc(ans.message)}</div>'
    parts = ['<div class="pq-answer">']
    if ans.understood:
        parts.append(f'<div class="pq-understood">{esc(ans.understood)}</div>')
    if ans.notice:
        parts.append(f'<div class="pq-notice">{esc(ans.notice)}</div>')
    if ans.gap and ans.mode != "generative":
        parts.append(f'<div class="pq-gap">{esc(ans.gap)}</div>')
    if ans.lead:
        parts.append(f'<div class="pq-lead">{esc(ans.lead)}</div>')
    if ans.table:
        parts.append(_table_html(ans.table))
    if ans.mode == "generative":
        parts.append('<div class="pq-answer-head">回答（由语言模型根据下列段落撰写）</div>')
        body = ans.text if ans.text else "正在生成……"
        parts.append(f'<div class="pq-gen">{_with_markers(body).replace(chr(10), "<br>")}</div>')
    else:
        head = ANSWER_HEADS.get(ans.kind, "回答（摘自文件原文）")
        parts.append(f'<div class="pq-answer-head">{head}</div><ol class="pq-points">')
        for p in ans.points:
            refs = "".join(f"[{n}]" for n in p.citations)
            parts.append(f"<li>{_with_markers(p.text + refs)}</li>")
        parts.append("</ol>")
    parts.append('<div class="pq-sources"><div class="pq-sources-head">出处</div>')
    for r in cited_passages(ans):
        parts.append(f'<div class="pq-source">[{r.rank}] {esc(citation(r))}</div>')
    parts.append("</div></div>")
    return "".join(parts)


def document_html(engine, doc_id: str, target_key: str = "") -> str:
    """A document as its section tree and its text, the target section marked."""
    doc = engine.document(doc_id)
    if doc is None:
        return '<div class="pq-empty">找不到该文档，它可能已被移除。</div>'
    text = engine.document_text(doc_id)
    sections = sorted(engine.sections(doc_id), key=lambda s: s.start)
    pages = ((engine.manifest.get("files") or {}).get(doc.source) or {}).get("ocr_pages")
    scanned = f"扫描件，文字识别 {pages} 页（可能有识别错误，请以原件为准）" if pages else ""
    meta = " · ".join(esc(x) for x in (doc.org, doc.doc_number, doc.date, doc.year, doc.region, doc.doc_type, doc.source,
                                       scanned) if x)
    out = [f'<div class="pq-doc"><h3>{esc(doc.title)}</h3><div class="pq-docmeta">{meta}</div>']
    out.append(standing_html(engine, doc))
    out.append('<div class="pq-toc"><b>目录</b>')
    depth = 0
    for s in sections:
        level = len(s.path)
        while depth < level:
            out.append("<ul>")
            depth += 1
        while depth > level:
            out.append("</ul>")
            depth -= 1
        out.append(f'<li><a href="{esc(section_link(doc.doc_id, s.key))}">{esc(s.path[-1])}</a></li>')
    out.append("</ul>" * depth + "</div><hr>")
    first = sections[0].start if sections else len(text)
    if text[:first].strip():
        out.append("".join(f"<p>{esc(p)}</p>" for p in text[:first].split("\n") if p.strip()))
    for s in sections:
        cls = "pq-section pq-target" if s.key == target_key else "pq-section"
        anchor = ' id="pq-target"' if s.key == target_key else ""
        lines = [p for p in text[s.start:s.end].split("\n") if p.strip()]
        label = f"<h4>{esc(s.path[-1])}</h4>" if s.key.startswith("p") else ""
        paragraphs = "".join(
            f'<p class="pq-h"><b>{esc(p)}</b></p>' if i == 0 and not label and len(p) <= 80 else f"<p>{esc(p)}</p>"
            for i, p in enumerate(lines))
        out.append(f'<div class="{cls}" data-key="{esc(s.key)}"{anchor}>{label}{paragraphs}</div>')
    out.append("</div>")
    return "".join(out)


RELATION_WORDS = {"supersedes": "取代", "superseded_by": "已被取代于", "amends": "修改", "amended_by": "已被修改于"}


def standing_html(engine, doc) -> str:
    """A document's status (with the sentence it is read from), its relations as links to the
    documents of the index they name, and the series it belongs to."""
    from ..search.collection import collection_of

    collection = collection_of(engine)
    s = collection.standing_of(doc.doc_id)
    out = ['<div class="pq-standing">']
    label = f"（{esc(s.label)}）" if s.label and s.label != s.status else ""
    reason = f'<span class="pq-reason">依据：{esc(s.reason)}</span>' if s.reason else ""
    out.append(f'<div><b>效力：</b><span class="pq-status">{esc(s.status)}</span>{label} {reason}</div>')
    if s.relations:
        out.append('<ul class="pq-relations">')
        for r in s.relations:
            name = f"《{esc(r.title)}》"
            if r.doc_id:
                name = f'<a href="{esc(section_link(r.doc_id, ""))}">{name}</a>'
            out.append(f"<li>{RELATION_WORDS.get(r.kind, r.kind)} {name}：{esc(r.sentence[:160])}</li>")
        out.append("</ul>")
    series = collection.series.get(doc.doc_id)
    if series:
        by_id = {d.doc_id: d for d in collection.docs}
        links = " · ".join(f"<b>{esc(str(by_id[m].year or by_id[m].title))}</b>" if m == doc.doc_id else
                           f'<a href="{esc(section_link(m, ""))}">{esc(str(by_id[m].year or by_id[m].title))}</a>'
                           for m in series.members)
        out.append(f'<div class="pq-series"><b>同一系列</b>（{esc(series.name)}）：{links}</div>')
    out.append("</div>")
    return "".join(out)


def _full_citation(r) -> str:
    from ..drafting.export import full_citation

    return full_citation(r)


def precedents_html(ps) -> str:
    if not ps.precedents:
        return f'<div class="pq-empty">没有找到与“{esc(ps.query[:60])}”相关的先例。{esc(ps.coverage_line())}</div>'
    terms = query_terms(ps.query)
    out = [_series_html(t) for t in ps.series]
    for p in ps.precedents:
        s = p.section
        key = s.section_id.partition("#")[2]
        extra = []
        for d in p.duplicates:
            extra.append(f'<div class="pq-meta">相同段落也见于：{esc(_full_citation(d))}</div>')
        for x in p.see_also:
            xk = x.section_id.partition("#")[2]
            extra.append(f'<div class="pq-meta">同一文件另见：<a href="{esc(section_link(x.doc_id, xk))}" '
                         f'target="_blank">{esc(" › ".join(x.section_path))}</a>（{esc(x.section_id)}）</div>')
        out.append(
            f'<div class="pq-card pq-precedent" data-section="{esc(s.section_id)}">'
            f'<div class="pq-cite">{esc(s.year or "")} · {esc(s.region or "—")} · {esc(s.title)}'
            f'{"（" + esc(s.status_label) + "）" if s.status_label else ""}</div>'
            f'<div class="pq-meta">{esc(" › ".join(s.section_path))} · 相似度 {p.relevance:.2f} · 章节 {esc(s.section_id)}'
            f'{" · " + esc(s.doc_number) if s.doc_number else ""}{" · " + esc(s.date) if s.date else ""}'
            f' · <a class="pq-open" href="{esc(section_link(s.doc_id, key))}" target="_blank">在原文中查看</a></div>'
            f'<div class="pq-text">{highlighted(s.text, terms)}</div>{"".join(extra)}</div>'
        )
    return "\n".join(out)


def _series_html(track) -> str:
    """One plan's series among the precedents: the item year after year, each a link to its section."""
    steps = " → ".join(
        f'<a href="{esc(section_link(s.doc_id, s.section_id.partition("#")[2]))}" target="_blank">'
        f'{esc(s.year or s.date or s.title)} {esc(s.section_path[-1] if s.section_path else "")}</a>'
        for s in track.sections)
    return f'<div class="pq-card pq-series"><div class="pq-cite">同一系列：{esc(track.name)}</div>' \
           f'<div class="pq-meta">逐年写法：{steps}（下方“对比”默认比较最近两年）</div></div>'


MOSTLY_DIFFERENT = 0.35


def comparison_html(c) -> str:
    if c.ratio < MOSTLY_DIFFERENT:
        return _side_by_side(c)
    left, right = [], []
    for op, a, b in c.ops:
        if op == "equal":
            left.append(esc(a))
            right.append(esc(b))
        else:
            if a:
                left.append(f'<del class="pq-del">{esc(a)}</del>')
            if b:
                right.append(f'<ins class="pq-ins">{esc(b)}</ins>')
    return _columns(c, left, right, "左侧删去的文字标红，右侧新增的文字标绿。", numbers=True)


CHANGE_CLASSES = {"新增": "pq-added", "删除": "pq-dropped", "调整": "pq-reworded", "沿用": "pq-kept"}


def changes_html(c) -> str:
    """A change list (drafting.changes.ChangeList): counts, then each item with its label, a link to
    its section, the targets that changed and, for a reworded item, its words marked."""
    counts = "，".join(f"{k} {n} 条" for k, n in c.counts().items())
    out = [f'<div class="pq-changes-head">从《{esc(c.before.title)}》到《{esc(c.after.title)}》：{esc(counts)}</div>']
    for item in sorted(c.items, key=lambda i: i.change == "沿用"):  # what changed first
        side = item.after or item.before
        key = side.section_id.partition("#")[2]
        link = f'<a href="{esc(section_link(side.section_id.partition("#")[0], key))}" target="_blank">' \
               f'{esc(" › ".join(side.path))}</a>'
        lines = [f'<span class="pq-change-label">【{esc(item.change)}】</span>{link}']
        if item.change == "调整" and item.before:
            lines.append(f'<div class="pq-meta">原：{esc(" › ".join(item.before.path))}（相似度 {item.similarity:.0%}）</div>')
        for t in item.targets:
            lines.append(f'<div class="pq-meta">指标：<del class="pq-del">{esc(t.before)}</del> → '
                         f'<ins class="pq-ins">{esc(t.after)}</ins>（{esc(t.counts)}）</div>')
        if item.ops:
            marked = "".join(esc(b) if op == "equal" else
                             (f'<del class="pq-del">{esc(a)}</del>' if a else "") +
                             (f'<ins class="pq-ins">{esc(b)}</ins>' if b else "") for op, a, b in item.ops)
            lines.append(f'<div class="pq-text">{marked}</div>')
        elif item.change in ("新增", "删除"):
            lines.append(f'<div class="pq-text">{esc(side.text[:400])}</div>')
        out.append(f'<div class="pq-card {CHANGE_CLASSES.get(item.change, "")}">{"".join(lines)}</div>')
    return "\n".join(out)


def _side_by_side(c) -> str:
    """Two mostly different texts: shown whole, side by side, only their shared passages marked."""
    left, right = [], []
    for op, a, b in c.ops:
        if op == "equal" and len(a) >= 6:
            left.append(f'<mark class="pq-same">{esc(a)}</mark>')
            right.append(f'<mark class="pq-same">{esc(b)}</mark>')
        else:
            left.append(esc(a))
            right.append(esc(b))
    return _columns(c, left, right, "两段文字大部分不同，并排显示全文，只标出相同的文字。")


def _columns(c, left: list[str], right: list[str], legend: str, numbers: bool = False) -> str:
    """The two sections of a comparison side by side, each under its citation."""
    def column(info, body):
        number = " · " + esc(info.doc_number) if numbers and info.doc_number else ""
        return (f'<div class="pq-col"><div class="pq-cite">{esc(info.citation)}</div>'
                f'<div class="pq-meta">{esc(info.section_id)}{number}</div>'
                f'<div class="pq-text">{"".join(body).replace(chr(10), "<br>")}</div></div>')
    return (f'<div class="pq-meta">文字相似度 {c.ratio:.0%}：{legend}</div>'
            f'<div class="pq-compare">{column(c.a, left)}{column(c.b, right)}</div>')


def draft_html(r) -> str:
    out = [f'<div class="pq-answer"><div class="pq-answer-head">草稿：{esc(r.title or "未命名")}，'
           f'{len(r.items)} 个条目</div>']
    if r.comparable:
        out.append(f'<div>对照文件：{esc(r.comparable.title)}（{esc(r.reason)}）</div>')
        if r.missing:
            out.append(f'<div class="pq-notice">草稿未涉及对照文件的 {len(r.missing)} 个条目：</div><ul>')
            for m in r.missing:
                key = m.section_id.partition("#")[2]
                out.append(f'<li class="pq-missing"><a href="{esc(section_link(m.section_id.partition("#")[0], key))}" '
                           f'target="_blank">{esc(" › ".join(m.path))}</a></li>')
            out.append("</ul>")
        else:
            out.append("<div>对照文件的条目草稿均已涉及。</div>")
    else:
        out.append(f"<div>{esc(r.reason)}</div>")
    out.append("</div>")
    for item in r.items:
        refs = "".join(
            f'<li><a href="{esc(section_link(p.doc_id, p.section_id.partition("#")[2]))}" target="_blank">'
            f'{esc(p.citation)}</a> · 相关度 {p.score:.2f}（{esc(p.section_id)}）</li>' for p in item.precedents)
        out.append(f'<div class="pq-card"><div class="pq-cite">{esc(" › ".join(item.path))}</div>'
                   f'<div class="pq-meta">最接近的先例：</div><ul>{refs}</ul></div>')
    return "".join(out)


CSS = """
.pq-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; margin: 8px 0;}
.pq-cite {font-weight: 600;}
.pq-meta {color: #57606a; font-size: 0.9em; margin: 2px 0 6px;}
.pq-text {line-height: 1.7;}
.pq-text mark {background: #fff3b0; padding: 0 1px;}
.pq-empty {color: #57606a; padding: 12px 0;}
.pq-answer {border-left: 4px solid #2f81f7; padding: 8px 14px; margin: 6px 0 12px; background: #f6f8fa;}
.pq-answer-head {font-weight: 600; margin-bottom: 4px;}
.pq-points li {margin: 4px 0; line-height: 1.7;}
.pq-ref a {text-decoration: none;}
.pq-notice {color: #9a6700; margin-bottom: 6px;}
.pq-none {border-left-color: #9a6700;}
.pq-sources {margin-top: 8px; font-size: 0.9em; color: #424a53;}
.pq-sources-head {font-weight: 600;}
.pq-doc h4 {margin: 14px 0 4px;}
.pq-doc .pq-target {background: #fff8c5; outline: 2px solid #d4a72c; padding: 4px;}
.pq-doc p {line-height: 1.8; margin: 4px 0;}
.pq-toc {font-size: 0.92em; line-height: 1.7;}
.pq-toc ul {margin: 0; padding-left: 1.2em;}
.pq-docmeta {color: #57606a; font-size: 0.9em;}
.pq-standing {margin: 6px 0; font-size: 0.92em;} .pq-reason {color: #57606a;} .pq-relations {margin: 2px 0 2px 1em;}
.pq-compare {display: flex; gap: 12px;}
.pq-col {flex: 1; border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 12px; line-height: 1.8;}
.pq-del {background: #ffd7d5; text-decoration: line-through;}
.pq-added {border-left: 4px solid #1a7f37;} .pq-dropped {border-left: 4px solid #cf222e;}
.pq-reworded {border-left: 4px solid #9a6700;} .pq-change-label {font-weight: 600;}
.pq-ins {background: #ccffd8; text-decoration: none;}
.pq-matched {color: #57606a; font-size: 0.88em; margin-top: 4px;}
.pq-via {color: #8c959f;}
.pq-refs {white-space: nowrap;}
.pq-ref {font-size: 0.95em; font-weight: 600; text-decoration: none; margin-left: 1px;}
.pq-understood, .pq-filtered {color: #0969da; margin: 4px 0 8px;}
.pq-lead {font-weight: 600; margin: 4px 0 8px;}
.pq-sides {border-collapse: collapse; margin: 4px 0 8px;} .pq-sides td, .pq-sides th {border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top;}
.pq-chip {display: inline-block; background: #ddf4ff; border: 1px solid #54aeff; border-radius: 12px;
          padding: 0 8px; margin: 0 3px; font-size: 0.9em;}
.pq-gap {font-weight: 600; color: #9a6700; margin: 4px 0;}
.pq-history {margin: 6px 0 10px; font-size: 0.95em;}
.pq-turn summary {cursor: pointer; padding: 2px 0;}
.pq-same {background: #fff3b0;}
.pq-status {margin: 2px 0;}
@media (max-width: 640px) {
  .pq-compare {flex-direction: column;}
  .pq-card {padding: 8px 10px;}
}
"""
