"""HTML for the page. Every piece of document text is escaped: a document that
contains `<script>` or Markdown shows it as text."""

from __future__ import annotations

import html

from .highlight import find_spans, query_terms
from .retrieve import SearchResult


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
    head = " · ".join(str(x) for x in (r.title, r.year, r.region) if x)
    return " › ".join([head, *r.section_path])


def result_cards(query: str, results: list[SearchResult]) -> str:
    if not results:
        return f'<div class="pq-empty">没有找到与“{esc(query)}”相关的内容。</div>'
    terms = query_terms(query)
    cards = []
    for r in results:
        meta = " · ".join(esc(x) for x in (r.doc_number, r.date, r.source) if x)
        cards.append(
            f'<div class="pq-card" data-section="{esc(r.section_id)}">'
            f'<div class="pq-cite">[{r.rank}] {esc(citation(r))}</div>'
            f'<div class="pq-meta">相关度 {r.score:.2f}{" · " + meta if meta else ""}</div>'
            f'<div class="pq-text">{highlighted(r.text, terms)}</div>'
            f"</div>"
        )
    return "\n".join(cards)


CSS = """
.pq-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; margin: 8px 0;}
.pq-cite {font-weight: 600;}
.pq-meta {color: #57606a; font-size: 0.9em; margin: 2px 0 6px;}
.pq-text {line-height: 1.7;}
.pq-text mark {background: #fff3b0; padding: 0 1px;}
.pq-empty {color: #57606a; padding: 12px 0;}
"""
