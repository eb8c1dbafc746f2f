"""How the parser structures a folder of documents.

    python bench/structure_report.py FOLDER [FOLDER ...] [--show N]

Per folder: documents, share with at least three sections, largest section (characters)
and where it is, and the documents with the fewest sections.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.parse import parse_text  # noqa: E402
from indexer.read import UnreadableFile, discover, read_document  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    for folder in args.folders:
        files, skipped = discover(Path(folder))
        rows, chars, t0 = [], 0, time.perf_counter()
        for f in files:
            try:
                doc = parse_text(read_document(f.path), f.source)
            except UnreadableFile as e:
                skipped.append(e)
                continue
            chars += len(doc.text)
            sizes = [(s.end - s.start, " › ".join(s.path)) for s in doc.sections] or [(len(doc.text), "(无章节)")]
            biggest = max(sizes)
            rows.append((f.source, len(doc.sections), biggest[0], biggest[1], doc.meta))
        seconds = time.perf_counter() - t0
        n = len(rows)
        three = sum(1 for r in rows if r[1] >= 3)
        biggest = max(rows, key=lambda r: r[2])
        print(f"{folder}: {n} documents, {chars} characters parsed in {seconds:.1f} s; "
              f"{three}/{n} ({three / max(n, 1):.1%}) with at least 3 sections; skipped {len(skipped)}")
        print(f"  largest section: {biggest[2]} characters — {biggest[0]} › {biggest[3][:60]}")
        sizes = sorted(r[2] for r in rows)
        print(f"  largest section per document: median {sizes[n // 2]}, 90th percentile {sizes[int(n * 0.9)]}")
        for r in sorted(rows, key=lambda r: r[1])[: args.show]:
            print(f"  fewest sections: {r[1]:>3}  {r[0]}  (title “{r[4].title}”)")
        for r in sorted(rows, key=lambda r: -r[2])[: args.show]:
            print(f"  largest: {r[2]:>6}  {r[0]} › {r[3][:50]}")


if __name__ == "__main__":
    main()
