"""Scans of the five seeds, recognised and indexed: accuracy and speed, in one run.

    python bench/bench_ocr.py [--work DIR] [--keep]

Each seed's cleaned text is printed onto A4 pages at 150 dpi (WenQuanYi Micro Hei), each page
turned by up to ±1°, blurred, saved as JPEG; one page of one seed is turned 90°; the first page
carries a red 发文机关 header, the last a red seal and every page a page number. Three seeds go
into PDFs, one into a multi-page TIFF, one into a PDF after a typed cover page (a mixed PDF).
Prints, per seed and overall: character accuracy against the typed seed after cleaning, the
share of its section headings recovered as sections; whether `发展党员有哪些要求` cites the
same sections over the scanned index as over the typed one; dev.jsonl recall@5 over both;
OCR pages per minute; and the time of a second, unchanged `policyqa index`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import shutil
import subprocess
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
from indexer import ocr  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.parse import parse_text  # noqa: E402
from indexer.read import read_document  # noqa: E402
from indexer.textutil import match_key  # noqa: E402
from tests import scans  # noqa: E402

QUESTION = "发展党员有哪些要求"


def make_scans(corpus: Path, out: Path) -> dict[str, str]:
    """Scanned files for every seed; returns scanned name → typed name."""
    rng = random.Random(7)
    names = {}
    seeds = sorted(corpus.glob("*.txt"))
    for n, typed in enumerate(seeds):
        doc = parse_text(read_document(typed), typed.name)
        noise = {"skew": round(rng.uniform(-1, 1), 2), "blur": 0.5, "jpeg": 75}
        pages = scans.scan_pages(doc.text, header=doc.meta.org or "", seal=(doc.meta.org or "")[:8],
                                 rotate_page=2 if n == 4 else None, **noise)
        stem = typed.stem
        if n == 3:
            target = scans.save_tiff(pages, out / f"{stem}.tiff")
        elif n == 1:
            target = scans.text_and_scan_pdf([f"{doc.meta.org or doc.meta.title}\n关于印发工作要点的通知\n各单位：现将工作要点印发给你们，请认真贯彻落实。"],
                                             pages, out / f"{stem}.pdf")
        else:
            target = scans.save_pdf(pages, out / f"{stem}.pdf")
        names[target.name] = typed.name
    return names


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, match_key(a), match_key(b), autojunk=False).ratio()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not scans.font_available():
        sys.exit("needs fonts-wqy-microhei (apt-get install fonts-wqy-microhei)")
    work = args.work or Path(tempfile.mkdtemp(prefix="pq-ocr-"))
    os.environ["POLICYQA_CACHE"] = str(work / "cache")  # a cold OCR cache: every page recognised here
    corpus = work / "scanned"
    corpus.mkdir(parents=True, exist_ok=True)
    names = make_scans(ROOT / "corpus", corpus)

    started = time.monotonic()
    report = build_index(corpus, work / "index-scanned")
    ocr_build = time.monotonic() - started
    pages = sum(v.get("ocr_pages", 0) for v in json.loads((work / "index-scanned" / "config.json").read_text())["files"].values())
    typed_report = build_index(ROOT / "corpus", work / "index-typed")

    print(f"{'file':44} {'chars':>7} {'accuracy':>9} {'headings':>9}")
    total_a, total_h = [], []
    for scanned, typed in sorted(names.items()):
        with ocr.session():
            got = parse_text(read_document(corpus / scanned), scanned)
        want = parse_text(read_document(ROOT / "corpus" / typed), typed)
        accuracy = similarity(want.text, got.text)
        heads = {s.path[-1] for s in want.sections if not s.key.startswith("p")}
        found = {s.path[-1] for s in got.sections}
        share = len(heads & found) / max(1, len(heads))
        total_a.append(accuracy)
        total_h.append(share)
        print(f"{scanned:44} {len(got.text):7} {accuracy:9.4f} {share:9.1%}")
    print(f"overall: accuracy {sum(total_a) / len(total_a):.4f} (target >= 0.98), headings "
          f"{sum(total_h) / len(total_h):.1%} (target >= 95 %)")
    skipped = [f"{s.source}: {s.reason}" for s in report.skipped]
    print(f"scanned index: {report.documents} documents, {report.sections} sections; skipped {skipped or 'none'}")
    for w in report.warnings:
        print(f"  note {w.source}: {w.reason}")
    print(f"OCR build: {pages} pages in {ocr_build:.1f} s, {60 * pages / ocr_build:.1f} pages per minute "
          f"(whole build, models loaded on the way)")

    typed = Searcher(load_index(work / "index-typed"))
    scanned_searcher = Searcher(load_index(work / "index-scanned"), typed.embedder)
    a = [(r.section_path[-1], r.region) for r in typed.search(QUESTION, k=5)]
    b = [(r.section_path[-1], r.region) for r in scanned_searcher.search(QUESTION, k=5)]
    print(f"{QUESTION}: typed {a[:3]}\n{' ' * len(QUESTION)}  scanned {b[:3]}  same top 3: {set(a[:3]) == set(b[:3])}")
    gold = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if gold.exists():
        items = load_gold(gold)
        print(f"dev.jsonl recall@5: typed {evaluate(typed, items)[0]['overall']['recall@5']:.4f}, "
              f"scanned {evaluate(scanned_searcher, items)[0]['overall']['recall@5']:.4f}")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "webui.cli", "index", str(corpus), "--index", str(work / "index-scanned")],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ})
    print(f"second index over the unchanged scans: {time.monotonic() - t0:.2f} s ({out.stdout.splitlines()[0]})")
    print(f"typed build for comparison: {typed_report.seconds:.1f} s")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
