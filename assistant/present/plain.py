"""Plain text for the terminal: answers, precedents, comparisons, draft checks."""

from __future__ import annotations

from ..answers.record import Answer
from ..drafting.changes import ChangeList
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
    if ans.lead:
        lines.append(ans.lead)
    if ans.table:
        lines.append(table_markdown(ans.table))
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


def answers_eval_text(gold: str, result: dict, verbose: bool = False) -> str:
    """`policyqa eval --answers`: refusals, answers citing a gold section or holding the gold answer."""
    lines = [f"{gold}：{result['questions']} 个问题，拒答 {result['refused']} 个"]
    if "share" in result:
        lines.append(f"  回答所引段落含金标准章节的 {result['answers_citing_gold']} 个（{result['share']:.1%}）")
    if "answer_share" in result:
        lines.append(f"  回答文字含标准答案的 {result['answers_containing_gold']} 个（{result['with_gold_answer']} 个有标准答案，"
                     f"{result['answer_share']:.1%}）；前 5 段含标准答案的 {result['passages_containing_gold']} 个，"
                     f"回答保留其中 {result['of_what_passages_hold']:.1%}")
    if "answer_chars" in result:
        chars = result["answer_chars"]
        lines.append(f"  回答长度：中位数 {chars['median']} 字，90% 的回答不超过 {chars['p90']} 字")
    lines += [f"  未命中 {row['id']} {row['question']}（{row['status']}）" for row in result["details"]
              if verbose and (row.get("hit") is False or row.get("contains_answer") is False)]
    return "\n".join(lines)


def kinds_eval_text(gold: str, result: dict, verbose: bool = False) -> str:
    """`policyqa eval` on questions of several kinds: passes overall and per kind, the misses."""
    kinds = " ".join(f"{k}={v['passed']}/{v['questions']}" for k, v in result["by_kind"].items())
    lines = [f"{gold}：{result['questions']} 个问题，通过 {result['passed']} 个（{kinds}）"]
    if result["skipped"]:
        lines.append(f"  未评测 {len(result['skipped'])} 个（没有给出其语料的索引，用 --corpus 名称=索引）")
    lines += [f"  未通过 {row['id']} {row['question']}（{row['why']}，按 {row['answer_kind']} 回答）"
              for row in result["details"] if verbose and not row["passed"]]
    return "\n".join(lines)


def table_markdown(rows: list[dict]) -> str:
    """A comparison's sides side by side, as a Markdown table (readable as plain text too)."""
    out = ["| 范围 | 内容 | 出处 |", "| --- | --- | --- |"]
    for row in rows:
        cites = "".join(f"[{n}]" for n in row.get("citations", []))
        out.append(f"| {row['side']} | {_clip(row['text'], 120).replace('|', '｜')} | {cites} |")
    return "\n".join(out) + "\n"


def _clip(text: str, n: int = 160) -> str:
    flat = text.replace("\n", " ")
    return flat if len(flat) <= n else flat[:n] + "…"


def precedents_text(ps: PrecedentSet) -> str:
    if not ps.precedents:
        return f"没有找到与“{ps.query}”相关的先例。\n{ps.coverage_line()}"
    lines = [ps.coverage_line(), ""]
    for t in ps.series:
        steps = " → ".join(f"{s.year or s.date} {s.section_id}" for s in t.sections)
        lines += [f"同一系列：{t.name}：{steps}", ""]
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
        mark = f"【{item.change}】" if item.change else ""
        follows = f"（对应：{item.follows.citation}）" if item.follows and item.change != "新增" else ""
        lines.append(f"  {mark}{' › '.join(item.path)}{follows}")
        for p in item.precedents:
            lines.append(f"     · {p.citation}（{p.section_id}）")
    return "\n".join(lines)


def changes_text(c: ChangeList) -> str:
    counts = c.counts()
    lines = [f"从《{c.before.title}》到《{c.after.title}》：" + "，".join(f"{k} {n} 条" for k, n in counts.items()),
             ""]
    for item in c.items:
        side = item.after or item.before
        lines.append(f"【{item.change}】{' › '.join(side.path)}")
        if item.change == "调整" and item.before:
            lines.append(f"     原：{' › '.join(item.before.path)}（相似度 {item.similarity:.0%}）")
        for t in item.targets:
            lines.append(f"     指标：{t.before} → {t.after}（{t.counts}）")
    return "\n".join(lines)


def documents_text(records: list[dict]) -> str:
    """One line per document: title, number, date, place, status and what it relates to."""
    lines = []
    for r in records:
        meta = " · ".join(str(x) for x in (r["doc_number"], r["date"] or r["year"], r["region"], r["doc_type"]) if x)
        status = r["status"] + (f"：{r['status_label']}" if r["status_label"] else "")
        lines.append(f"{r['title']}（{r['doc_id']}）  {meta}  [{status}]")
        for rel in r["relations"]:
            lines.append(f"    {_RELATION_NAMES[rel['kind']]}《{rel['title']}》")
        if r["series"]:
            lines.append(f"    系列：{r['series']['name']}（{len(r['series']['members'])} 份）")
    return "\n".join(lines) or "索引中没有文件。"


_RELATION_NAMES = {"supersedes": "取代/废止", "superseded_by": "被取代/废止于", "amends": "修改", "amended_by": "被修改于"}
