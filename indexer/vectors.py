"""The FAISS index for a set of vectors, chosen by size.

- Up to FLAT_LIMIT vectors: exact inner-product search (`IndexFlatIP`), fast enough and
  never wrong.
- Up to HNSW_FROM: IVF-Flat (inverted lists over k-means cells), trained on a sample, with
  `nprobe` — how many cells a query visits — the smallest value whose recall@10 against exact
  search reaches TARGET_RECALL on sample queries. Cheap to build (seconds).
- Beyond: HNSW (a navigable small-world graph), `efSearch` tuned the same way. IVF's cost per
  query grows with the corpus (nlist is capped, so cells grow) and the second model's vectors
  need many cells visited: at a million chunks one IVF search took ~40 ms against ~3 ms for
  HNSW at the same recall. HNSW costs minutes per million vectors to build, small next to the
  hours of embedding such a corpus.

The kind, its parameters and the measured recall go into the index manifest.
"""

from __future__ import annotations

import math

import numpy as np

FLAT_LIMIT = 50_000
HNSW_FROM = 250_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
TARGET_RECALL = 0.98
NPROBES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
EF_SEARCHES = (16, 32, 64, 128, 256, 512, 1024, 2048)
EXACT_FILTER_LIMIT = 20_000
ADD_BATCH = 65_536


CHECK_BLOCK = 65_536  # rows whose norms are computed at once when vectors are checked


def _faiss():
    import faiss

    return faiss


def damaged_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows that are not a model's vector: not finite, zero, or longer than unit length (the
    models' vectors are normalised). Every row is checked, a block at a time, so a memory map
    is read once and never copied whole."""
    bad = []
    for start in range(0, len(vectors), CHECK_BLOCK):
        block = np.asarray(vectors[start:start + CHECK_BLOCK], dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        bad.append(start + np.flatnonzero(~np.isfinite(norms) | (norms < 0.5) | (norms > 1.01)))
    return np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)


def describe_rows(rows: np.ndarray, shown: int = 5) -> str:
    """`3 行（第 2、8、9 行）`: rows counted from 1, the first few named."""
    named = "、".join(str(int(r) + 1) for r in rows[:shown]) + ("…" if len(rows) > shown else "")
    return f"{len(rows)} 行（第 {named} 行）"


def choose_nlist(n: int) -> int:
    """About 4·√n cells, at most 1024, and never fewer than 39 training points per cell."""
    return int(max(1, min(1024, max(64, 4 * math.sqrt(n)), n // 39)))


def build(vectors: np.ndarray, queries: np.ndarray | None = None, flat_limit: int | None = None,
          seed: int = 0, codec: str = "float32", hnsw_from: int | None = None) -> tuple[object, dict]:
    """A FAISS index over `vectors` (rows may be a memory map) and its manifest entry.

    `queries` tune and measure an approximate index; by default a sample of the vectors.
    `codec` "fp16" stores the vectors at half precision (FAISS scalar quantiser), for the many
    sentence vectors.
    """
    faiss = _faiss()
    n, dim = vectors.shape
    fp16 = codec == "fp16"
    if n <= (FLAT_LIMIT if flat_limit is None else flat_limit):
        if fp16:
            index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
            index.train(np.zeros((1, dim), dtype=np.float32))
        else:
            index = faiss.IndexFlatIP(dim)
        _add(index, vectors)
        return index, {"type": "flat", "metric": "inner_product", "codec": codec}
    rng = np.random.default_rng(seed)
    if queries is None:
        queries = np.ascontiguousarray(vectors[np.sort(rng.choice(n, size=min(n, 200), replace=False))],
                                       dtype=np.float32)
    if n >= (HNSW_FROM if hnsw_from is None else hnsw_from):
        return _build_hnsw(vectors, queries, codec)
    nlist = choose_nlist(n)
    sample = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
    quantizer = faiss.IndexFlatIP(dim)
    if fp16:
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    _add(index, vectors)
    nprobe, recall = tune_nprobe(index, vectors, queries)
    index.nprobe = nprobe
    return index, {"type": "ivf", "metric": "inner_product", "codec": codec, "nlist": nlist, "nprobe": nprobe,
                   "recall@10": round(recall, 4), "tuned_on": int(len(queries))}


def _build_hnsw(vectors: np.ndarray, queries: np.ndarray, codec: str) -> tuple[object, dict]:
    faiss = _faiss()
    dim = vectors.shape[1]
    if codec == "fp16":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.train(np.zeros((1, dim), dtype=np.float32))
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    _add(index, vectors)
    _, recall = _tune(index, vectors, queries, EF_SEARCHES, lambda ef: setattr(index.hnsw, "efSearch", ef))
    return index, {"type": "hnsw", "metric": "inner_product", "codec": codec, "m": HNSW_M,
                   "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": int(index.hnsw.efSearch),
                   "recall@10": round(recall, 4), "tuned_on": int(len(queries))}


def _add(index, vectors: np.ndarray) -> None:
    for i in range(0, len(vectors), ADD_BATCH):
        index.add(np.ascontiguousarray(vectors[i:i + ADD_BATCH], dtype=np.float32))


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Exact top-k by brute force, in blocks so a memory map is read once."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), ADD_BATCH):
        block = np.asarray(vectors[start:start + ADD_BATCH], dtype=np.float32)
        scores = queries @ block.T
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate([best_i, np.arange(start, start + len(block))[None, :].repeat(len(queries), 0)], axis=1)
        top = np.argsort(-s, axis=1)[:, :k]
        best_s = np.take_along_axis(s, top, axis=1)
        best_i = np.take_along_axis(i, top, axis=1)
    return best_i


def recall_at(index, truth: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    _, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    hits = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist()))
    return hits / truth.size


def tune_nprobe(index, vectors: np.ndarray, queries: np.ndarray) -> tuple[int, float]:
    values = [v for v in NPROBES if v <= index.nlist]
    return _tune(index, vectors, queries, values, lambda nprobe: setattr(index, "nprobe", nprobe))


def _tune(index, vectors: np.ndarray, queries: np.ndarray, values, apply) -> tuple[int, float]:
    """The smallest search parameter in `values` whose recall@10 against exact search reaches
    TARGET_RECALL (else the largest), applied to the index, with the recall it measured."""
    truth = exact_neighbours(vectors, queries)
    recall = 0.0
    for value in values:
        apply(value)
        recall = recall_at(index, truth, queries)
        if recall >= TARGET_RECALL:
            break
    return value, recall


def configure(index, params: dict) -> None:
    """Apply the stored search parameters to a loaded index."""
    if params.get("type") == "ivf" and "nprobe" in params:
        _faiss().extract_index_ivf(index).nprobe = int(params["nprobe"])
    elif params.get("type") == "hnsw" and "ef_search" in params:
        index.hnsw.efSearch = int(params["ef_search"])


def search(index, params: dict, query: np.ndarray, n: int, allowed: np.ndarray | None = None,
           rows: np.ndarray | None = None) -> np.ndarray:
    """Ids of the best `n` vectors, optionally only among the `allowed` ids (sorted).

    `rows` are the vectors themselves (may be a memory map): a filter that leaves few rows is
    answered exactly from them, which is both faster and surer than filtering inside an
    approximate index, whose graph or cells may hold too few allowed rows near the query.
    """
    faiss = _faiss()
    n = min(n, index.ntotal if allowed is None else len(allowed))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    search_params = None
    if allowed is not None:
        if rows is not None and len(allowed) <= EXACT_FILTER_LIMIT:
            scores = np.asarray(rows[allowed], dtype=np.float32) @ query.astype(np.float32)
            best = np.argpartition(-scores, n - 1)[:n]
            return allowed[best[np.argsort(-scores[best])]].astype(np.int64)
        search_params = _filtered_params(faiss, index, params, allowed)
    # One query is too little work to share: FAISS's OpenMP threads would only spin against the
    # query encoders for the 2 cores (p50 at 10 k chunks: 57 ms with two, 34 ms with one, under load).
    # The setting is per calling thread, so a build elsewhere keeps its threads.
    faiss.omp_set_num_threads(1)
    _, found = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), n, params=search_params)
    return found[0][found[0] >= 0]


def _filtered_params(faiss, index, params: dict, allowed: np.ndarray):
    selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
    kind = params.get("type")
    if kind == "ivf":
        return faiss.SearchParametersIVF(sel=selector, nprobe=int(params.get("nprobe", 1)))
    if kind == "hnsw":
        # The graph walk passes over rows the filter drops: widen it as the filter narrows.
        share = len(allowed) / max(1, index.ntotal)
        ef = min(EF_SEARCHES[-1], int(int(params.get("ef_search", 64)) / max(share, 1e-3)))
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef, int(params.get("ef_search", 64))))
    return faiss.SearchParameters(sel=selector)
