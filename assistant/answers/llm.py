"""Optional generative answers from an OpenAI-compatible chat-completions server
(vLLM, Ollama, a hosted Qwen or DeepSeek …), written from the retrieved passages only.

Configured by POLICYQA_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1), POLICYQA_LLM_MODEL,
POLICYQA_LLM_API_KEY, POLICYQA_LLM_TIMEOUT (seconds per request, default 60) and
POLICYQA_LLM_RETRIES (default 1).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from indexer.errors import PolicyQAError

from ..search.results import SearchResult

SYSTEM_PROMPT = (
    "你是政策文件检索助手。只依据用户提供的编号资料回答问题，不要使用资料以外的知识，不要编造。"
    "用简体中文分条作答，每条写成一行，以“- ”开头，并在句末用 [编号] 标注所依据的资料，例如 [1] 或 [1][3]。"
    "如果资料不足以回答，就直接说明资料中没有相关内容。"
)
_MARKER = re.compile(r"\[(\d{1,3})\]")


class LLMError(PolicyQAError):
    """The server failed, timed out or answered nothing; the message is for users."""


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str = "default"
    api_key: str = ""
    timeout: float = 60.0
    retries: int = 1

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        base = os.environ.get("POLICYQA_LLM_BASE_URL", "").strip()
        if not base:
            return None
        return cls(base.rstrip("/"), os.environ.get("POLICYQA_LLM_MODEL", "default"),
                   os.environ.get("POLICYQA_LLM_API_KEY", ""),
                   _number("POLICYQA_LLM_TIMEOUT", 60.0, float), _number("POLICYQA_LLM_RETRIES", 1, int))


def _number(name: str, default, kind):
    try:
        return max(0, kind(os.environ.get(name, default)))
    except ValueError:
        return default


def build_messages(question: str, passages: list[SearchResult], scope_note: str = "") -> list[dict]:
    """The prompt: numbered passages with their citations, the question, and what the scope rule
    found (`索引中没有2026年的…，以下是最接近的…`), which the answer must say first."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        blocks.append(f"[{n}] 出处：{p.citation}\n{p.text.strip()}")
    user = "资料：\n\n" + "\n\n".join(blocks) + f"\n\n问题：{question}"
    if scope_note:
        user += f"\n\n注意：{scope_note}请在回答开头说明这一点，并注明每条所依据资料的年份。"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def check_markers(text: str, n_passages: int) -> tuple[str, list[str]]:
    """Drop markers that name no passage that was given; return the text and what was dropped."""
    removed: list[str] = []

    def keep(m: re.Match) -> str:
        if 1 <= int(m.group(1)) <= n_passages:
            return m.group()
        removed.append(m.group())
        return ""

    return _MARKER.sub(keep, text), removed


def markers_in(text: str) -> list[int]:
    return sorted({int(m) for m in _MARKER.findall(text)})


def stream_chat(config: LLMConfig, messages: list[dict]) -> Iterator[str]:
    """Text deltas of a streamed chat completion, through the openai SDK (its retries and
    timeouts); a server that ignores `stream` and answers with one JSON reply is accepted too."""
    try:
        import openai
    except ImportError as e:  # a core dependency; only a broken install lands here
        raise LLMError("缺少 openai 库：pip install openai") from e
    client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key or "none",
                           timeout=openai.Timeout(config.timeout, connect=min(10.0, config.timeout)),
                           max_retries=config.retries)
    deadline = time.monotonic() + config.timeout * (config.retries + 1)
    try:
        raw = client.chat.completions.with_raw_response.create(
            model=config.model, messages=messages, stream=True, temperature=0.2)
        if "text/event-stream" not in raw.headers.get("content-type", ""):
            yield _whole_reply(raw.http_response.read().decode("utf-8", "replace"))
            return
        for chunk in raw.parse():
            if time.monotonic() > deadline:
                raise LLMError(f"模型服务超过 {config.timeout:g} 秒未完成")
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
    except openai.APITimeoutError as e:
        raise LLMError(f"模型服务超时（{config.timeout:g} 秒）") from e
    except openai.APIStatusError as e:
        raise LLMError(f"模型服务返回 HTTP {e.status_code}") from e
    except openai.APIConnectionError as e:
        raise LLMError(f"无法连接模型服务：{e}") from e
    except openai.OpenAIError as e:
        raise LLMError(f"模型服务出错：{e}") from e


def _whole_reply(text: str) -> str:
    try:
        return json.loads(text)["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise LLMError("模型服务返回了无法解析的数据") from e
