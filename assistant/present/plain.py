"""Plain text for the terminal: answers, precedents, comparisons, draft checks."""

from __future__ import annotations

from ..answers.answer import Answer
from ..drafting.compare import Comparison
from ..drafting.draft import DraftReport
from ..drafting.export import full_citation
from ..drafting.precedents import PrecedentSet
from .render import cited_passages


def answer_text(ans: Answer) -> str:
    if ans.status != "ok":
        return ans.message + (f"（{ans.understood}）" if ans.understood else "")
    lines = []
    if ans.understood:
        lines.append(f"（{ans.understood}）")
    if ans.notice:
        lines.append(f"（{ans.notice}）")
    if ans.gap and ans.mode != "generative":
        lines.append(ans.gap)
    if ans.mode == "generative":
        lines.append(ans.text.strip())
    else:
        for i, p in enumerate(ans.points, start=1):
            lines.append(f"{i}. {p.text}{''.join(f'[{n}]' for n in p.citations)}")
    lines.append("")
    lines.append("出处：")
    for r in cited_passages(ans):
        lines.append(f"[{r.rank}] {r.citation}")
    return "\n".join(lines)


def _clip(text: str, n: int = 160) -> str:
    flat = text.replace("\n", " ")
    return flat if len(flat) <= n else flat[:n] + "…"


def precedents_text(ps: PrecedentSet) -> str:
    if not ps.precedents:
        return f"没有找到与“{ps.query}”相关的先例。\n{ps.coverage_line()}"
    lines = [ps.coverage_line(), ""]
    for p in ps.precedents:
        s = p.section
        lines.append(f"{s.year or ''} · {s.region or '—'} · {s.title} › {' › '.join(s.section_path)}")
        lines.append(f"   相似度 {p.relevance:.2f} · 章节 {s.section_id}" + (f" · {s.doc_number}" if s.doc_number else ""))
        lines.append(f"   {_clip(s.text)}")
        for d in p.duplicates:
            lines.append(f"   相同段落也见于：{full_citation(d)}（{d.section_id}）")
        for extra in p.see_also:
            lines.append(f"   同一文件另见：{' › '.join(extra.section_path)}（{extra.section_id}）")
        lines.append("")
    if ps.targets:
        lines.append("目标与指标：")
        for t in ps.targets:
            lines.append(f"   {t.value:<16} {t.counts}  —— {t.citation}")
    return "\n".join(lines).rstrip()


def comparison_text(c: Comparison, color: bool = False) -> str:
    dels = ("\033[9;31m", "\033[0m") if color else ("[-", "-]")
    adds = ("\033[4;32m", "\033[0m") if color else ("{+", "+}")
    body = []
    for op, a, b in c.ops:
        if op == "equal":
            body.append(a)
            continue
        if a:
            body.append(f"{dels[0]}{a}{dels[1]}")
        if b:
            body.append(f"{adds[0]}{b}{adds[1]}")
    return "\n".join([
        f"甲：{c.a.full_citation}（{c.a.section_id}）",
        f"乙：{c.b.full_citation}（{c.b.section_id}）",
        f"文字相似度 {c.ratio:.0%}" + ("" if color else "；删去的标为 [-…-]，新增的标为 {+…+}"),
        "",
        "".join(body),
    ])


def draft_text(r: DraftReport) -> str:
    lines = [f"草稿：{r.title or '未命名'}，{len(r.items)} 个条目"]
    if r.comparable:
        lines.append(f"对照文件：{r.comparable.title}（{r.reason}）")
        lines.append(f"未涉及对照文件的 {len(r.missing)} 个条目：" if r.missing else "对照文件的条目均已涉及。")
        for m in r.missing:
            lines.append(f"   - {' › '.join(m.path)}（{m.section_id}）")
    else:
        lines.append(r.reason)
    lines.append("")
    lines.append("各条目的先例：")
    for item in r.items:
        lines.append(f"  {' › '.join(item.path)}")
        for p in item.precedents:
            lines.append(f"     · {p.citation}（{p.section_id}）")
    return "\n".join(lines)
