"""Metadata you can trust, measured: field accuracy on the gold table (tests/data/metadata_gold.tsv,
164 documents of the government work reports, the laws and the NCPQA notices, each row with the method
used to check it) and the precision and recall of supersession relations on the laws (tests/data/
gold_relations.tsv: every newer version and every `《…》…废止` naming a file of the folder, read one by one).

    python bench/bench_metadata.py [--shared ../shared] [--ncpqa ~/.cache/policyqa-evals/ncpqa-dev/docs]

Prints accuracy per field and corpus, the misses (with --misses), and the relations' precision/recall.
Each corpus folder is read whole, because a document's status depends on the others.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.search.standing import standings  # noqa: E402
from indexer.build import doc_id_for  # noqa: E402
from indexer.metadata import normalise_number  # noqa: E402
from indexer.parse import parse_text  # noqa: E402
from indexer.read import read_document  # noqa: E402
from indexer.store import DocumentRow  # noqa: E402

GOLD = ROOT / "tests" / "data" / "metadata_gold.tsv"
RELATIONS = ROOT / "tests" / "data" / "gold_relations.tsv"
FIELDS = ("title", "org", "doc_number", "date", "year", "region", "status")


def read_tsv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_folder(folder: Path, suffixes=(".txt", ".md")) -> list[DocumentRow]:
    """Every file of a corpus folder as the index would hold its metadata."""
    docs = []
    for n, path in enumerate(sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)):
        source = path.relative_to(folder).as_posix()
        m = parse_text(read_document(path), source).meta
        docs.append(DocumentRow(n, doc_id_for(source), source, "", m.title, m.org, m.doc_number, m.date, m.year,
                                m.region, m.doc_type, 0, places=m.places, lifecycle=m.lifecycle))
    return docs


def _same(field: str, got, want: str) -> bool:
    got = "" if got is None else str(got)
    if field == "org":
        def norm(x):
            return re.sub(r"^中华人民共和国|[\s、，,　]", "", x)
        return norm(got) == norm(want)
    if field == "doc_number":
        return normalise_number(got) == normalise_number(want)
    if field == "title":
        return re.sub(r"\s", "", got) == re.sub(r"\s", "", want)
    return got == want


def field_accuracy(gold: list[dict], folders: dict[str, Path]) -> tuple[dict, list]:
    """{corpus: {field: (right, total)}} over the rows whose corpus folder is given, and the misses."""
    table: dict[str, dict[str, list[int]]] = {}
    misses = []
    for corpus, folder in folders.items():
        rows = [r for r in gold if r["corpus"] == corpus]
        if not rows:
            continue
        docs = read_folder(folder)
        status = standings(docs)
        by_source = {d.source: d for d in docs}
        for r in rows:
            d = by_source.get(r["source"])
            for f in FIELDS:
                got = None if d is None else (status[d.doc_id].status if f == "status" else getattr(d, f))
                ok = d is not None and _same(f, got, r[f])
                cell = table.setdefault(corpus, {}).setdefault(f, [0, 0])
                cell[0] += ok
                cell[1] += 1
                if not ok:
                    misses.append((corpus, r["source"], f, r[f], got))
    return table, misses


def relation_scores(gold: list[dict], docs: list[DocumentRow]) -> dict:
    """Precision of the `superseded_by` links the index makes (a link is right when the gold lists that
    pair) and recall over the superseded documents of the gold (found when any of its gold successors is linked)."""
    by_id = {d.doc_id: d.source for d in docs}
    found = set()
    for doc_id, s in standings(docs).items():
        for r in s.relations:
            if r.kind == "superseded_by" and r.doc_id:
                found.add((by_id[doc_id], by_id[r.doc_id]))
    pairs = {(g["superseded"], g["by"]) for g in gold}
    right = sum(1 for p in found if p in pairs)
    gone = {g["superseded"] for g in gold}
    recalled = sum(1 for s in gone if any((s, b) in found for (a, b) in pairs if a == s))
    return {"links": len(found), "right": right, "precision": right / len(found) if found else 0.0,
            "superseded": len(gone), "recalled": recalled, "recall": recalled / len(gone) if gone else 0.0,
            "wrong": sorted(p for p in found if p not in pairs),
            "missed": sorted(s for s in gone if not any((s, b) in found for (a, b) in pairs if a == s))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--ncpqa", default=str(Path.home() / ".cache/policyqa-evals/ncpqa-dev/docs"))
    ap.add_argument("--misses", action="store_true", help="list every wrong field")
    args = ap.parse_args()
    shared = Path(args.shared)
    folders = {"reports": shared / "corpora/gov_work_reports", "laws": shared / "corpora/laws"}
    if Path(args.ncpqa).is_dir():
        folders["ncpqa"] = Path(args.ncpqa)
    gold = read_tsv(GOLD)
    started = time.monotonic()
    table, misses = field_accuracy(gold, folders)
    print(f"metadata gold: {len(gold)} rows; corpora read: {', '.join(folders)} ({time.monotonic() - started:.1f} s)")
    print("field        " + "  ".join(f"{c:>14}" for c in table) + "           all")
    for f in FIELDS:
        cells = [table[c].get(f, [0, 0]) for c in table]
        right, total = sum(c[0] for c in cells), sum(c[1] for c in cells)
        print(f"{f:<12} " + "  ".join(f"{c[0]:>4}/{c[1]:<4}{c[0] / max(c[1], 1):.3f}" for c in cells)
              + f"   {right}/{total} {right / max(total, 1):.3f}")
    if args.misses:
        for m in misses:
            print("MISS", *m, sep="\t")
    laws = read_folder(folders["laws"])
    scores = relation_scores(read_tsv(RELATIONS), laws)
    print(f"relations (laws, {scores['superseded']} superseded documents in the gold): "
          f"precision {scores['right']}/{scores['links']} = {scores['precision']:.3f}, "
          f"recall {scores['recalled']}/{scores['superseded']} = {scores['recall']:.3f}")
    for p in scores["wrong"]:
        print("WRONG LINK", *p, sep="\t")
    for s in scores["missed"]:
        print("MISSED", s, sep="\t")
    return 0


if __name__ == "__main__":
    sys.exit(main())
