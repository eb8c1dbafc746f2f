"""Hostile files (issue 28), each through the command line and through the page, all figures
from one run.

    python bench/hostile_files.py [--only NAME]

Writes each small file that would expand to gigabytes (tests/hostile.py, at the issue's
sizes), then:
- `policyqa index` over a folder holding it and one seed document: wall time, the peak
  memory of the command and its reading process, and what the summary says of the file;
- uploads it as an administrator to a running `python ui.py` (real model, the seeds) while
  another user searches without pause: the upload's reply time and message, the server's
  peak memory (itself and its reading process), and the other user's latency and failures
  during the uploads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False"}
FILES = {
    "页面反复引用.ofd": hostile.ofd_shared_page,
    "四千页反复引用.ofd": lambda p: hostile.ofd_shared_page(p, pages=4_000),
    "附件反复引用.ofd": hostile.ofd_shared_attachment,
    "巨幅页面.pdf": hostile.pdf_huge_page,
    "第二帧巨大.tif": hostile.tiff_large_second_frame,
    "高压缩比.docx": hostile.docx_packed,
    "空白扫描.pdf": hostile.pdf_blank_scans,
    "程序.pdf": hostile.not_a_pdf,
}
SEED = ROOT / "corpus" / "2023-金坛区委教育工委工作要点.txt"
MEASURED = """
import resource, subprocess, sys
code = subprocess.call([sys.executable, *sys.argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the reading process), in MB."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        kids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in _children(k)]


def by_command_line(name: str, path: Path, work: Path) -> dict:
    folder = work / "cli" / name
    folder.mkdir(parents=True)
    shutil.copy(path, folder / name)
    shutil.copy(SEED, folder / SEED.name)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED, "-m", "webui.cli", "index", str(folder), "--index",
                           str(work / "cli" / f"{name}.index"), "--json"], cwd=ROOT, env=ENV, capture_output=True,
                          text=True)
    seconds = time.monotonic() - started
    peak_mb = int(done.stdout.strip().splitlines()[-1]) / 1024
    again = subprocess.run([sys.executable, "-m", "webui.cli", "index", str(folder), "--index",
                            str(work / "cli" / f"{name}.index"), "--json"], cwd=ROOT, env=ENV, capture_output=True,
                           text=True)
    skipped = {s["source"]: s["reason"] for s in json.loads(again.stdout).get("skipped", [])} if again.stdout else {}
    return {"seconds": round(seconds, 1), "peak_mb": round(peak_mb), "exit": done.returncode,
            "reason": skipped.get(name, "（未跳过）")}


def start_page(work: Path) -> tuple[subprocess.Popen, str]:
    corpus, index = work / "page" / "corpus", work / "page" / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    subprocess.run([sys.executable, "-m", "webui.cli", "index", str(corpus), "--index", str(index)], cwd=ROOT,
                   env=ENV, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "ui.py", "--index", str(index), "--corpus", str(corpus), "--port",
                               str(port)], cwd=ROOT, env={**ENV, "POLICYQA_CACHE": str(work / "cache")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return server, url
        except OSError:
            time.sleep(0.2)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def through_the_page(files: dict[str, Path], work: Path) -> dict:
    from gradio_client import Client, handle_file

    server, url = start_page(work)
    peak = [tree_rss_mb(server.pid)]
    start_rss = peak[0]
    other: list[tuple[float, bool]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_mb(server.pid))
            time.sleep(0.1)

    def reader() -> None:
        client = Client(url, verbose=False)
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                ok = "pq-card" in client.predict("发展党员有哪些要求", 5, [], [], [], api_name="/search")
            except Exception:  # noqa: BLE001 - counted as a failure
                ok = False
            other.append((time.monotonic() - t0, ok))

    threads = [threading.Thread(target=watch), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    results = {}
    try:
        admin = Client(url, verbose=False)
        for name, path in files.items():
            before = peak[0]
            peak[0] = tree_rss_mb(server.pid)
            t0 = time.monotonic()
            status, *_ = admin.predict([handle_file(str(path))], "keep", api_name="/upload")
            results[name] = {"seconds": round(time.monotonic() - t0, 1), "server_peak_mb": round(peak[0]),
                             "reply": _text(status)}
            peak[0] = max(before, peak[0])
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.terminate()
        server.wait(30)
    latencies = [s for s, _ in other]
    return {"uploads": results, "server_rss_start_mb": round(start_rss), "server_peak_mb": round(peak[0]),
            "other_user": {"searches": len(other), "failures": sum(1 for _, ok in other if not ok),
                           "p50_s": round(pct(latencies, 0.5), 3), "p95_s": round(pct(latencies, 0.95), 3),
                           "max_s": round(max(latencies), 3) if latencies else None}}


def _text(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", html).split("索引现有")[0].strip()[:160]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="one file name of the list")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="policyqa-hostile-"))
    files = {}
    for name, write in FILES.items():
        if args.only and name != args.only:
            continue
        path = work / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        files[name] = path
    sizes = {name: path.stat().st_size for name, path in files.items()}
    cli = {name: by_command_line(name, path, work) for name, path in files.items()}
    page = through_the_page(files, work)
    result = {"file_bytes": sizes, "command_line": cli, "page": page}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "hostile_files.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
