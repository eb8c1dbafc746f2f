"""Optional generative answers from an OpenAI-compatible chat-completions server
(vLLM, Ollama, a hosted Qwen or DeepSeek …), written from the retrieved passages only.

Configured by POLICYQA_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1), POLICYQA_LLM_MODEL,
POLICYQA_LLM_API_KEY and POLICYQA_LLM_TIMEOUT (seconds, default 60).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from indexer.errors import PolicyQAError

from .results import SearchResult

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

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        base = os.environ.get("POLICYQA_LLM_BASE_URL", "").strip()
        if not base:
            return None
        try:
            timeout = float(os.environ.get("POLICYQA_LLM_TIMEOUT", "60"))
        except ValueError:
            timeout = 60.0
        return cls(base.rstrip("/"), os.environ.get("POLICYQA_LLM_MODEL", "default"),
                   os.environ.get("POLICYQA_LLM_API_KEY", ""), timeout)

    @property
    def url(self) -> str:
        return self.base_url + "/chat/completions"


def build_messages(question: str, passages: list[SearchResult]) -> list[dict]:
    blocks = []
    for n, p in enumerate(passages, start=1):
        blocks.append(f"[{n}] 出处：{p.citation}\n{p.text.strip()}")
    user = "资料：\n\n" + "\n\n".join(blocks) + f"\n\n问题：{question}"
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
    """Text deltas of a streamed chat completion."""
    import httpx

    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    body = {"model": config.model, "messages": messages, "stream": True, "temperature": 0.2}
    deadline = time.monotonic() + config.timeout
    timeout = httpx.Timeout(config.timeout, connect=min(10.0, config.timeout))
    try:
        with httpx.stream("POST", config.url, json=body, headers=headers, timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                raise LLMError(f"模型服务返回 HTTP {response.status_code}")
            if "text/event-stream" not in response.headers.get("content-type", ""):
                response.read()
                yield _whole_reply(response.text)
                return
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    raise LLMError(f"模型服务超过 {config.timeout:g} 秒未完成")
                delta = _sse_delta(line)
                if delta is None:
                    break
                if delta:
                    yield delta
    except httpx.TimeoutException as e:
        raise LLMError(f"模型服务超时（{config.timeout:g} 秒）") from e
    except httpx.HTTPError as e:
        raise LLMError(f"无法连接模型服务：{e}") from e


def _sse_delta(line: str) -> str | None:
    """'' for lines without text, None at the end of the stream."""
    line = line.strip()
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
        choice = event["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise LLMError("模型服务返回了无法解析的数据") from e
    return (choice.get("delta") or {}).get("content") or ""


def _whole_reply(text: str) -> str:
    try:
        return json.loads(text)["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise LLMError("模型服务返回了无法解析的数据") from e
