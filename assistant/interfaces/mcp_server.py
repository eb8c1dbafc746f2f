"""An MCP server (the official `mcp` SDK) over one library: an AI assistant searches it, asks it
and reads its documents, every result with its citation. Served over stdio by `policyqa mcp
--index DIR` and over streamable HTTP at `/mcp` by `policyqa serve` (with the same keys as the API).

Tools return structured content: the records of records.py, the same as the CLI's `--json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from indexer.errors import PolicyQAError

from ..answers.answer import Answerer
from ..answers.followup import understand
from ..drafting.precedents import find_precedents
from ..search.engine import SearchEngine
from ..search.query import Filters, clean_query
from .records import answer_record, document_tree, documents_records, search_record, section_record

INSTRUCTIONS = ("政策文件库：search 检索段落，ask 得到注明出处的回答（每一条都有 [n] 与出处），"
                "list_documents / get_document / get_section 阅读文件与章节，precedents 查找各文件的同类条目。"
                "引用时请保留出处（文件 › 章节）。")
MAX_K = 50


def _filters(years: list[int] | None, regions: list[str] | None, current_only: bool) -> Filters:
    return Filters(years=set(years or []), regions=set(regions or []), current_only=bool(current_only))


def mcp_install_hint() -> str:
    return "MCP 需要官方 SDK：pip install 'mcp>=2'（或 pip install -e '.[dev]'）"


def build_mcp(engine_of: Callable[[], SearchEngine], answerer_of: Callable[[], Answerer], name: str = "policyqa",
              internal_of: Callable[[], frozenset[str]] = frozenset):
    """The server, its tools calling `engine_of()` / `answerer_of()` at each call (an index rebuilt
    under a running server is picked up); `internal_of()` names the internal documents the caller
    sees, to label them. Raises PolicyQAError when the SDK is missing."""
    try:
        import anyio
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError as e:  # an optional dependency: say how to get it
        raise PolicyQAError(mcp_install_hint()) from e

    server = MCPServer(name=name, instructions=INSTRUCTIONS)

    async def run(fn: Callable[[], dict]) -> dict:
        try:
            return await anyio.to_thread.run_sync(fn)
        except PolicyQAError as e:  # a clean message for the model, never a traceback
            raise ToolError(str(e)) from e

    @server.tool(description="检索政策文件中的段落。返回每段的文件、章节、出处（citation）与原文。", structured_output=True)
    async def search(query: str, k: int = 5, years: list[int] | None = None, regions: list[str] | None = None,
                     current_only: bool = False) -> dict[str, Any]:
        q = clean_query(query)
        return await run(lambda: search_record(q, engine_of().search(q, k=max(1, min(MAX_K, k)),
                                                                      filters=_filters(years, regions, current_only))))

    @server.tool(description="提问，得到摘自文件原文、每一条都注明出处的回答。follow_up_of 为上一个问题时按追问理解（如“那2024年呢”）。",
                 structured_output=True)
    async def ask(question: str, follow_up_of: str = "", years: list[int] | None = None,
                  regions: list[str] | None = None, current_only: bool = False) -> dict[str, Any]:
        def answer() -> dict:
            understood, _ = understand(clean_query(question), clean_query(follow_up_of) or None)
            return answer_record(answerer_of().answer(understood, k=5, filters=_filters(years, regions, current_only)))
        return await run(answer)

    @server.tool(description="列出文库中的全部文件：标题、发文机关、文号、日期、地区、效力（status）与系列。", structured_output=True)
    async def list_documents(status: list[str] | None = None) -> dict[str, Any]:
        return await run(lambda: {"documents": documents_records(engine_of(), set(status or []), internal_of())})

    @server.tool(description="一个文件的元数据与章节目录（树）；doc_id 来自检索结果或 list_documents。", structured_output=True)
    async def get_document(doc_id: str) -> dict[str, Any]:
        return await run(lambda: document_tree(engine_of(), doc_id.strip(), internal_of()))

    @server.tool(description="一个章节的原文与出处；section_id 形如 文档ID#3.7。", structured_output=True)
    async def get_section(section_id: str) -> dict[str, Any]:
        return await run(lambda: section_record(engine_of(), section_id))

    @server.tool(description="查找先例：各文件、各年份如何表述同一事项、有何指标。", structured_output=True)
    async def precedents(topic: str, years: list[int] | None = None, regions: list[str] | None = None,
                         current_only: bool = False) -> dict[str, Any]:
        return await run(lambda: find_precedents(answerer_of(), topic, _filters(years, regions, current_only)).to_json())

    return server
