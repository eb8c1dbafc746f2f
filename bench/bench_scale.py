"""How cost grows with the corpus, on this machine, all figures from one run.

    python bench/bench_scale.py index   [--corpus ../shared/corpora/laws] [--out bench/out]
    python bench/bench_scale.py search  [--sizes 10000 100000 1000000] [--out bench/out]
    python bench/bench_scale.py startup [--out bench/out]
    python bench/bench_scale.py batch   [--out bench/out]
    python bench/bench_scale.py threads [--index DIR]
    python bench/bench_scale.py all

index   — `policyqa index` over the corpus as a separate process (wall time, characters per
          second, time per stage, peak RSS), then, in this process, plain `encode` of the very
          texts the build embedded with the same models and settings, and the ratio plain encode
          time / build time (what parsing, cleaning, BM25, FAISS and writing cost on top). When
          an index of the same corpus is already in --out, the plain encode also runs before
          the build, on its texts, and the ratio against the mean of the two is reported.
          Torch against ONNX is bench/bench_onnx.py.
search  — indexes of the given sizes made from the real index: its documents repeated until the
          size is reached (the text and the keyword side are real text); the first copy keeps its
          real vectors, the other copies get random unit vectors, as the brief allows; copies carry
          no sentence vectors. For each size: the FAISS index chosen, recall@10 against exact
          search for the 20 colloquial questions (approximate indexes are tuned on the 30 dev
          ones), search latency p50/p95 over all 50 questions on a first pass (pages the mapped index
          files in) and warm (three more passes), load time, resident memory
          and disk per 100 k chunks.
startup — `python ui.py` until it answers a question; `policyqa search` one shot; import time
          (`--index DIR` to start with another index than the laws one).
batch   — `policyqa search --batch --json` throughput.
threads — on a sample of an index's texts (--index, default the laws index): each model with two
          threads (how plain encode runs) and with one, and both models' blocks on two one-thread
          workers as the build runs them (indexer/workers.py) against one model after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
DEV = [SHARED / "eval" / "dev.jsonl", SHARED / "eval" / "dev-colloquial.jsonl"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def questions(paths=DEV) -> list[str]:
    return [json.loads(line)["question"] for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line]


def pct(values, q) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- index -------------------------------------------------------------------------------

def encoder_texts(index_dir: Path) -> tuple[str, list[str], list[str]]:
    """The texts an index's build handed to the two encoders: m3e's and the second model's."""
    from assistant.search.index import load_index
    from indexer import second
    from indexer.encoding import embed_text

    index = load_index(index_dir)
    rows = index.store.query("SELECT d.title, s.path, c.text FROM chunks c JOIN sections s ON s.row = c.section_row "
                             "JOIN documents d ON d.row = c.doc_row ORDER BY c.row")
    texts = [embed_text(t, json.loads(p), x) for t, p, x in rows]
    second_texts = second.build_texts([(json.loads(p)[-1], x) for _, p, x in rows])
    model = index.model_name
    index.close()
    return model, texts, second_texts


def plain_encode(model_name: str, texts: list[str], second_texts: list[str]) -> tuple[float, float]:
    """Seconds for plain encoding with both models, loaded and warmed beforehand."""
    from indexer import second
    from indexer.embed import load_embedder
    from indexer.encoding import EMBED_BATCH

    model = load_embedder(model_name)
    model.encode(texts[:64])
    second.encode(second_texts[:64])
    t0 = time.perf_counter()
    model.encode(texts, batch_size=EMBED_BATCH)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, len(second_texts), 4096):
        second.encode(second_texts[i:i + 4096], workers=second.WORKERS)
    return encode_s, time.perf_counter() - t0


def bench_index(corpus: Path, out: Path) -> dict:
    """The build between two plain encodes of the same texts when an index of the same corpus is
    already there: this machine's speed drifts by 10–20 % over minutes, and a plain encode before
    and after the build brackets that drift instead of taking one side of it."""
    index_dir = out / "laws-index"
    before = None
    if (index_dir / "config.json").exists():
        manifest = json.loads((index_dir / "config.json").read_text(encoding="utf-8"))
        if Path(manifest.get("corpus", "")).resolve() == corpus.resolve():
            previous = encoder_texts(index_dir)
            before = (previous, plain_encode(*previous))
    shutil.rmtree(index_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "assistant.cli", "index", str(corpus), "--index", str(index_dir), "--json"]
    t0 = time.perf_counter()
    log = out / "index-run.json"
    with open(log, "w") as sink:  # a file, not a pipe: the report is larger than a pipe's buffer
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=sink, stderr=subprocess.STDOUT)
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
    while proc.poll() is None:  # sample memory: anonymous (held) and file-backed (memory maps, reclaimable)
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in peak:
                    peak[key] = max(peak[key], int(value.split()[0]))
        except OSError:
            pass
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    output = log.read_text(encoding="utf-8")
    if proc.returncode:
        raise SystemExit(output[-2000:])
    report = json.loads(output.strip().splitlines()[-1])
    t0 = time.perf_counter()
    again = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    reindex = time.perf_counter() - t0
    assert json.loads(again.stdout)["up_to_date"]

    built = encoder_texts(index_dir)
    if before is not None and before[0] != built:
        before = None  # other texts than this build's (the code or the corpus changed): not comparable
    encode_s, second_s = plain_encode(*built)
    chars = report["characters"]
    result = {
        "corpus": str(corpus), "documents": report["documents"], "chunks": report["chunks"],
        "sentences": len(built[2]) - report["chunks"], "characters": chars,
        "index_wall_s": round(wall, 1), "index_chars_per_s": round(chars / wall), "stages_s": report["stages"],
        "peak_rss_mb": round(peak["VmRSS"] / 1024), "peak_anon_mb": round(peak["RssAnon"] / 1024),
        "peak_file_backed_mb": round(peak["RssFile"] / 1024), "reindex_unchanged_s": round(reindex, 2),
        "plain_encode_s": round(encode_s, 1), "plain_second_s": round(second_s, 1),
        "ratio_plain_encode_vs_build": round((encode_s + second_s) / wall, 3),
        "index_dir_mb": round(dir_size(index_dir) / 2**20),
    }
    if before is not None:
        b_encode, b_second = before[1]
        result.update({
            "plain_before_encode_s": round(b_encode, 1), "plain_before_second_s": round(b_second, 1),
            "ratio_before_vs_build": round((b_encode + b_second) / wall, 3),
            "ratio_bracketed": round((b_encode + b_second + encode_s + second_s) / 2 / wall, 3),
        })
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return result


# --- synthetic sizes ------------------------------------------------------------------------

def make_scaled(real_dir: Path, target: Path, size: int, query_texts: list[str]) -> None:
    """An index of `size` chunks: the real documents repeated, real vectors for the first copy."""
    from assistant.search.index import load_index
    from indexer import second, store, vectors
    from indexer.build import BM25_PARAMS

    real = load_index(real_dir)
    n_real = real.size
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    src = sqlite3.connect(f"file:{real_dir / store.DB}?mode=ro", uri=True)
    dst = sqlite3.connect(target / store.DB)
    dst.executescript(store.SCHEMA)
    docs = src.execute("SELECT * FROM documents ORDER BY row").fetchall()
    sections = src.execute("SELECT * FROM sections ORDER BY row").fetchall()
    chunks = src.execute("SELECT * FROM chunks ORDER BY row").fetchall()
    copies, doc_off, sec_off, chunk_off = 0, 0, 0, 0
    while chunk_off < size:
        take = min(n_real, size - chunk_off)
        keep_docs = {c[1] for c in chunks[:take]}
        for d in docs:
            if d[0] in keep_docs:
                dst.execute(f"INSERT INTO documents VALUES ({','.join('?' * len(d))})",
                            (d[0] + doc_off, f"{d[1]}-{copies}" if copies else d[1], d[2], d[3],
                             d[4] + (f"（副本{copies}）" if copies else ""), *d[5:]))
        for s in sections:
            if s[1] in keep_docs:
                dst.execute(f"INSERT INTO sections VALUES ({','.join('?' * len(s))})", (s[0] + sec_off, s[1] + doc_off, *s[2:]))
        dst.executemany(f"INSERT INTO chunks VALUES ({','.join('?' * 8)})",
                        [(c[0] + chunk_off, c[1] + doc_off, c[2] + sec_off, *c[3:]) for c in chunks[:take]])
        copies, doc_off, sec_off, chunk_off = copies + 1, doc_off + len(docs), sec_off + len(sections), chunk_off + take
    dst.commit()
    rng = np.random.default_rng(1)

    def fill(path: Path, real_vectors: np.ndarray) -> np.ndarray:
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size, real_vectors.shape[1]))
        out[:n_real] = real_vectors[: min(n_real, size)]
        for i in range(n_real, size, 65536):
            block = rng.standard_normal((min(65536, size - i), real_vectors.shape[1])).astype(np.float32)
            out[i:i + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        out.flush()
        return out

    import faiss

    embedder_q = real.model_name
    from indexer.embed import load_embedder

    m3e = load_embedder(embedder_q)
    dense_vecs = fill(target / store.VECTORS, np.asarray(real.vectors))
    dense, dense_params = vectors.build(dense_vecs, queries=m3e.encode(query_texts))
    faiss.write_index(dense, str(target / store.DENSE))
    use_vecs = fill(target / store.USE_CHUNKS, np.asarray(real.use_chunks))
    use_index, use_params = vectors.build(use_vecs, queries=second.encode(query_texts))
    faiss.write_index(use_index, str(target / store.USE_INDEX))
    keep = real.sentence_chunk < min(n_real, size)
    np.save(target / store.SENTENCE_CHUNK, real.sentence_chunk[keep])
    kept_sentences = np.asarray(real.use_sentences)[keep]
    np.save(target / store.USE_SENTENCES, kept_sentences)
    sentence_index, sentence_params = vectors.build(kept_sentences, codec="fp16")
    faiss.write_index(sentence_index, str(target / store.USE_SENTENCE_INDEX))
    import bm25s

    vocab: dict[str, int] = {}
    ids = [np.array([vocab.setdefault(w, len(vocab)) for w in t.split()], dtype=np.int32)
           for (t,) in dst.execute("SELECT tokens FROM chunks ORDER BY row")]
    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index((ids, vocab), show_progress=False)
    retriever.save(str(target / store.BM25_DIR), show_progress=False)
    del ids
    counts = {t: dst.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("documents", "sections", "chunks")}
    dst.close()
    manifest = dict(real.manifest)
    manifest.update(counts=counts, dense=dense_params, files={}, corpus=f"{real.manifest.get('corpus')} ×{copies}")
    manifest["second"] = {**manifest["second"], "chunks": size, "sentences": int(keep.sum()), "index": use_params,
                          "sentence_index": sentence_params}
    store.write_manifest(target, manifest)


def bench_search_size(index_dir: Path) -> dict:
    """Run in a fresh process: load, warm up, search every dev question three times."""
    from assistant.search.index import load_index
    from assistant.search.retrieve import Searcher
    from indexer import vectors

    base = rss_mb()
    t0 = time.perf_counter()
    index = load_index(index_dir)
    searcher = Searcher(index)
    load_s = time.perf_counter() - t0
    qs = questions()
    first = []  # the first pass pages in the memory-mapped index files a query touches
    for q in qs:
        t = time.perf_counter()
        searcher.search(q, k=5)
        first.append((time.perf_counter() - t) * 1000)
    latencies = []
    for _ in range(3):
        for q in qs:
            t = time.perf_counter()
            searcher.search(q, k=5)
            latencies.append((time.perf_counter() - t) * 1000)
    # recall@10 of the chosen FAISS index against exact search, for questions it was not tuned on
    qv = searcher.embedder.encode(questions(DEV[1:]))
    truth = vectors.exact_neighbours(index.vectors, qv)
    recall = vectors.recall_at(index.dense, truth, qv)
    return {"chunks": index.size, "dense": index.dense_params, "second_index": index.use_params,
            "sentence_index": index.sentence_params,
            "recall@10_vs_exact": round(recall, 4), "load_s": round(load_s, 2),
            "p50_ms": round(pct(latencies, 0.5), 1), "p95_ms": round(pct(latencies, 0.95), 1),
            "first_pass_p50_ms": round(pct(first, 0.5), 1), "first_pass_p95_ms": round(pct(first, 0.95), 1),
            "rss_mb": round(rss_mb() - base), "disk_mb": round(dir_size(index_dir) / 2**20)}


def bench_search(out: Path, sizes: list[int]) -> list[dict]:
    real_dir = out / "laws-index"
    results = []
    for size in sizes:
        target = out / f"scaled-{size}"
        t0 = time.perf_counter()
        make_scaled(real_dir, target, size, questions(DEV[:1]))  # tuned on dev; recall measured on colloquial
        made = time.perf_counter() - t0
        proc = subprocess.run([sys.executable, __file__, "_measure", str(target)], cwd=ROOT, env=ENV,
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["build_s"] = round(made, 1)
        r["rss_mb_per_100k"] = round(r["rss_mb"] * 100_000 / size)
        r["disk_mb_per_100k"] = round(r["disk_mb"] * 100_000 / size)
        print(json.dumps(r, ensure_ascii=False))
        results.append(r)
        if size >= 1_000_000:
            shutil.rmtree(target, ignore_errors=True)
    return results


# --- start-up and batch --------------------------------------------------------------------------

def bench_startup(out: Path, index_dir: Path | None = None) -> dict:
    index_dir = index_dir or out / "laws-index"
    port = 7871
    t0 = time.perf_counter()
    ui = subprocess.Popen([sys.executable, "ui.py", "--index", str(index_dir), "--port", str(port)], cwd=ROOT, env=ENV,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from gradio_client import Client

        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                if time.perf_counter() - t0 > 120:
                    raise SystemExit("ui.py did not start") from None
                time.sleep(0.1)
        page_s = time.perf_counter() - t0
        Client(f"http://127.0.0.1:{port}/", verbose=False).predict("劳动合同的订立", 5, [], [], api_name="/search")
        answer_s = time.perf_counter() - t0
    finally:
        ui.terminate()
        ui.wait(10)
    cli = [sys.executable, "-m", "assistant.cli", "search", "劳动合同法 第十条", "--index", str(index_dir)]
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cli, cwd=ROOT, env=ENV, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
    imports = subprocess.run([sys.executable, "-X", "importtime", "-c",
                              "import assistant.cli.commands, assistant.search.retrieve, assistant.search.index"], cwd=ROOT, env=ENV,
                             capture_output=True, text=True).stderr
    top = sorted(((int(line.split("|")[1]), line.split("|")[2].strip()) for line in imports.splitlines()
                  if line.startswith("import time:") and line.split("|")[1].strip().isdigit()), reverse=True)[:6]
    result = {"index": str(index_dir), "ui_page_s": round(page_s, 2), "ui_first_answer_s": round(answer_s, 2),
              "cli_search_wall_s": round(min(walls), 2),
              "slowest_imports_ms": {name: round(us / 1000) for us, name in top}}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return result


def bench_batch(out: Path) -> dict:
    qs = questions() * 10
    path = out / "batch.jsonl"
    path.write_text("\n".join(json.dumps({"question": q}, ensure_ascii=False) for q in qs), encoding="utf-8")
    cmd = [sys.executable, "-m", "assistant.cli", "search", "--batch", str(path), "--json",
           "--index", str(out / "laws-index")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    answered = sum(1 for line in proc.stdout.splitlines() if '"results"' in line)
    result = {"queries": answered, "wall_s": round(wall, 2), "queries_per_s": round(answered / wall, 1)}
    print(json.dumps(result, ensure_ascii=False))
    return result


def bench_threads(index_dir: Path, n_texts: int = 1500) -> dict:
    import random

    from indexer import second, workers
    from indexer.embed import load_embedder
    from indexer.encoding import EMBED_BATCH

    model_name, texts, second_texts = encoder_texts(index_dir)
    rng = random.Random(1)
    texts, second_texts = rng.sample(texts, n_texts), rng.sample(second_texts, 4 * n_texts)
    two = load_embedder(model_name)
    one = two.single_threaded()
    for m in (two, one):
        m.encode(texts[:32])
    second.encode(second_texts[:64])

    def timed(f) -> float:
        t0 = time.perf_counter()
        f()
        return time.perf_counter() - t0

    r = {"texts": n_texts, "second_texts": len(second_texts),
         "m3e_2_threads_s": timed(lambda: two.encode(texts, batch_size=EMBED_BATCH)),
         "m3e_1_thread_s": timed(lambda: one.encode(texts, batch_size=EMBED_BATCH)),
         "second_2_workers_s": timed(lambda: second.encode(second_texts, workers=2)),
         "second_1_worker_s": timed(lambda: second.encode(second_texts, workers=1))}

    def blocks(stage, items, size, f):
        for i in range(0, len(items), size):
            part = items[i:i + size]
            yield workers.Task(stage, lambda part=part: f(part), lambda _: None)

    r["both_sequential_s"] = r["m3e_2_threads_s"] + r["second_2_workers_s"]
    r["both_pooled_s"] = timed(lambda: workers.run(
        [blocks("embed", texts, 256, lambda p: one.encode(p, batch_size=EMBED_BATCH)),
         blocks("second", second_texts, 1024, lambda p: second.encode(p, workers=1))], 2, {}))
    r = {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}
    r["m3e_speedup_2_threads"] = round(r["m3e_1_thread_s"] / r["m3e_2_threads_s"], 2)
    r["second_speedup_2_workers"] = round(r["second_1_worker_s"] / r["second_2_workers_s"], 2)
    r["pooled_vs_sequential"] = round(r["both_sequential_s"] / r["both_pooled_s"], 2)
    print(json.dumps(r, ensure_ascii=False, indent=1))
    return r


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "_measure":
        print(json.dumps(bench_search_size(Path(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["index", "search", "startup", "batch", "threads", "all"])
    ap.add_argument("--corpus", default=str(SHARED / "corpora" / "laws"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--index", help="startup, threads: the index to use (default: the laws index)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.what in ("index", "all"):
        results["index"] = bench_index(Path(args.corpus), out)
    if args.what in ("search", "all"):
        results["search"] = bench_search(out, args.sizes)
    if args.what in ("startup", "all"):
        results["startup"] = bench_startup(out, Path(args.index) if args.index else None)
    if args.what in ("batch", "all"):
        results["batch"] = bench_batch(out)
    if args.what == "threads":
        results["threads"] = bench_threads(Path(args.index) if args.index else out / "laws-index")
    (out / f"scale-{args.what}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
