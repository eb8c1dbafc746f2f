"""The keyword side of a loaded index: the BM25 score matrix bm25s saved at build time,
read directly as memory-mapped arrays.

Searching needs only the matrix and the vocabulary, so bm25s (and the scipy it imports,
~0.5 s of every start) is not loaded to read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# File names of a bm25s 0.2–0.3 save (`BM25.save`).
DATA, INDICES, INDPTR = "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"
VOCAB, PARAMS = "vocab.index.json", "params.index.json"
# Variants that add a per-document score for absent words; the matrix alone would be wrong.
SHIFTED_METHODS = {"bm25l", "bm25+"}


def weighted(words: list[str] | dict[str, float]) -> dict[str, float]:
    """Words with their weights: a list's words each once at 1."""
    return words if isinstance(words, dict) else dict.fromkeys(words, 1.0)


@dataclass
class Postings:
    """Per word, the chunks it occurs in and its precomputed BM25 score in each."""

    data: np.ndarray  # scores, grouped by word
    indices: np.ndarray  # chunk rows, grouped by word
    indptr: np.ndarray  # word i's postings are [indptr[i], indptr[i + 1])
    vocab: dict[str, int]
    num_docs: int

    def ids(self, words: list[str]) -> list[int]:
        """Word ids of the words the index knows, in order, each once."""
        vocab = self.vocab
        return [vocab[w] for w in dict.fromkeys(words) if w in vocab]

    def scores(self, words: list[str] | dict[str, float], size: int) -> np.ndarray:
        """Summed BM25 of the words over every chunk (a repeated word counts once); given a
        dict, each word's score times its weight.

        One pass over the words' postings, rather than a chunk-sized array per word: at a
        million chunks that was most of the keyword cost.
        """
        known = [(self.vocab[w], weight) for w, weight in weighted(words).items() if w in self.vocab and weight]
        if not known:
            return np.zeros(size, dtype=np.float32)
        spans = [slice(self.indptr[t], self.indptr[t + 1]) for t, _ in known]
        rows = np.concatenate([self.indices[s] for s in spans])
        scores = np.concatenate([self.data[s] * weight if weight != 1.0 else self.data[s]
                                 for s, (_, weight) in zip(spans, known)])
        return np.bincount(rows, weights=scores, minlength=size).astype(np.float32)

    def document_frequencies(self) -> dict[str, int]:
        counts = np.diff(np.asarray(self.indptr))
        return {word: int(counts[i]) for word, i in self.vocab.items() if i < len(counts)}


def load_postings(path: Path) -> Postings:
    path = Path(path)
    params = json.loads((path / PARAMS).read_text(encoding="utf-8"))
    if params.get("method") in SHIFTED_METHODS:
        raise ValueError(f"不支持的 BM25 变体：{params['method']}")
    vocab = json.loads((path / VOCAB).read_text(encoding="utf-8"))
    data, indices, indptr = (np.load(path / name, mmap_mode="r") for name in (DATA, INDICES, INDPTR))
    if len(indptr) < 1 or len(data) != len(indices) or int(indptr[-1]) != len(data):
        raise ValueError("BM25 矩阵的数组长度不一致")
    return Postings(data, indices, indptr, vocab, int(params.get("num_docs", 0)))
