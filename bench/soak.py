"""The page under a long load, as an office would use it, all figures from one run.

    python bench/soak.py [--minutes 5] [--users 20] [--corpus corpus] [--login] [--hostile]
                         [--libraries INDEX [INDEX …]]

Serves `python ui.py` (a separate process, the product's queue settings) over a copy of the
corpus with the real model, then for the given time runs `--users` gradio_client users, each
asking and searching the 50 dev questions in its own order, one request after another. A
third of the way in, one more user uploads a document (the page rebuilds its index while
serving); at two thirds, removes it. Prints requests served, failures, p50/p95/max latency
overall and while a rebuild ran, throughput, and the server's memory at the start and end.
With `--login` the server runs with a users file: the users log in as readers, the one who
uploads and removes as an administrator, and every action is written to the audit log.
With `--hostile` (implies `--login`) one more client floods the server all along: wrong
administrator passwords with forged X-Forwarded-For headers, forms with two names and
20 000-character names; 5 000-character feedback; 2 MB uploads to Gradio's upload route;
and follow-up questions submitted without waiting. It reports how its attempts were
answered, and the audit and feedback logs, the upload folder and the server's memory
(every 5 s) against their bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False"}
NEW_DOC = ("丙镇教育办2025年工作要点\n一、办好民生实事\n1.推进农村学校营养午餐。覆盖全部农村学校，每生每天补助5元。\n"
           "2.改善乡村学校办学条件。新建塑胶跑道3条，改造旱厕12所。\n二、加强队伍建设\n3.开展乡村教师轮岗。每年轮岗教师不少于60人。\n")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--login", action="store_true", help="roles and the audit log on")
    ap.add_argument("--hostile", action="store_true", help="one client floods logins, feedback, uploads, the queue")
    ap.add_argument("--libraries", nargs="+", default=[], metavar="INDEX",
                    help="more libraries (index folders) served beside the corpus's; readers of different libraries, "
                         "every response checked for documents of a library its user may not read, and for an "
                         "internal document of the first (implies --login)")
    ap.add_argument("--flood", default="logins,feedback,uploads,queue",
                    help="with --hostile: which floods (none: only the samples, to compare)")
    args = ap.parse_args()
    args.login = args.login or args.hostile or bool(args.libraries)
    from gradio_client import Client, handle_file

    questions = [json.loads(line)["question"] for name in ("dev.jsonl", "dev-colloquial.jsonl")
                 for line in (SHARED / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="policyqa-soak-"))
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(args.corpus, corpus)
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", str(corpus), "--index", str(index)],
                   cwd=ROOT, env=ENV, check=True, capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    login = []
    readers: list[tuple[str, str] | None] = [None] * args.users
    admin = None
    if args.login:  # each person of the office has an account of their own
        sys.path.insert(0, str(ROOT))
        from assistant.office.accounts import UsersFile

        users = UsersFile(work / "users.json")
        users.add("admin", "admin", "admin-password")
        users.add("flooder", "reader", "flooder-password")
        readers = [(f"reader{n}", f"reader{n}-password") for n in range(args.users)]
        for name, password in readers:
            users.add(name, "reader", password)
        login = ["--users", str(work / "users.json")]
        admin = ("admin", "admin-password")
    hidden: list[set[str]] = [set() for _ in range(args.users)]  # per reader: document ids they may not read
    served = ["--index", str(index), "--corpus", str(corpus)]
    if args.libraries:
        registry, ids, internal = shelved(work, corpus, index, [Path(p) for p in args.libraries])
        for n, (name, _) in enumerate(readers):
            mine = list(ids)[n % len(ids)]
            registry.grant(mine, name, "reader")  # public documents only: the internal one is hidden too
            hidden[n] = set().union(*(v for k, v in ids.items() if k != mine)) | {internal}
        served = ["--libraries", str(registry.path)]
    cache = work / "cache"  # the server's own: its upload folder is measured
    server = subprocess.Popen([sys.executable, "ui.py", *served, "--port", str(port), *login], cwd=ROOT, env={**ENV, "POLICYQA_CACHE": str(cache)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        rss_start = rss_mb(server.pid)
        records: list[tuple[float, float, bool, str]] = []  # (start, seconds, ok, kind)
        leaks: list[str] = []
        rebuilds: list[tuple[float, float]] = []
        lock = threading.Lock()
        start = time.monotonic()
        stop_at = start + args.minutes * 60

        def user(n: int) -> None:
            client = Client(url, auth=readers[n], verbose=False)
            i = n * 7
            while time.monotonic() < stop_at:
                q = questions[i % len(questions)]
                kind = "ask" if i % 3 else "search"
                t0 = time.monotonic()
                try:
                    if kind == "ask":
                        answer, passages = client.predict(q, [], [], [], "", api_name="/ask")
                        ok = "出处" in answer or "没有找到" in answer
                        shown = answer + passages
                    else:
                        shown = client.predict(q, 5, [], [], [], api_name="/search")
                        ok = "pq-card" in shown
                    leaked = [d for d in hidden[n] if d in shown]
                    if leaked:
                        ok = False
                        with lock:
                            leaks.append(f"{readers[n][0]}: {kind} {q}: {leaked[:3]}")
                except Exception:
                    ok = False
                with lock:
                    records.append((t0, time.monotonic() - t0, ok, kind))
                i += 1

        def librarian() -> None:
            client = Client(url, auth=admin, verbose=False)
            doc = work / "2025-丙镇教育工作要点.txt"
            doc.write_text(NEW_DOC, encoding="utf-8")
            time.sleep(args.minutes * 60 / 3)
            t0 = time.monotonic()
            status, *_ = client.predict([handle_file(str(doc))], "keep", api_name="/upload")
            rebuilds.append((t0, time.monotonic()))
            print(f"upload at {t0 - start:.0f} s: {status.splitlines()[0]}", flush=True)
            time.sleep(max(0.0, start + 2 * args.minutes * 60 / 3 - time.monotonic()))
            docs = client.predict(api_name="/list_documents")
            rows = docs["data"] if isinstance(docs, dict) else docs
            doc_id = next(r[-1] for r in rows if "丙镇" in str(r[0]))
            t0 = time.monotonic()
            status, *_ = client.predict(doc_id, api_name="/remove")
            rebuilds.append((t0, time.monotonic()))
            print(f"remove at {t0 - start:.0f} s: {status.splitlines()[0]}", flush=True)

        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
        threads.append(threading.Thread(target=librarian))
        flood = Flood(url, stop_at, server.pid, work, cache, args.flood.split(",")) if args.hostile else None
        if flood is not None:
            threads += flood.threads()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        rss_end = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(20)
    latencies = [s for _, s, _, _ in records]
    during = [s for t0, s, _, _ in records if any(a <= t0 <= b for a, b in rebuilds)]
    failures = sum(1 for _, _, ok, _ in records if not ok)
    result = {
        "users": args.users, "minutes": args.minutes, "requests": len(records), "failures": failures,
        "throughput_per_s": round(len(records) / wall, 2),
        "p50_s": round(pct(latencies, 0.5), 3), "p95_s": round(pct(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3),
        "by_kind": {k: {"requests": len(v), "p50_s": round(pct(v, 0.5), 3), "p95_s": round(pct(v, 0.95), 3)}
                    for k in ("ask", "search") for v in [[s for _, s, _, kk in records if kk == k]]},
        "during_rebuilds": {"rebuild_s": [round(b - a, 1) for a, b in rebuilds], "requests": len(during),
                            "p50_s": round(pct(during, 0.5), 3), "p95_s": round(pct(during, 0.95), 3)},
        "server_rss_mb": {"start": round(rss_start), "end": round(rss_end)},
        "login": args.login,
    }
    if args.login:
        audit = (work / "index.audit.jsonl").read_text(encoding="utf-8").splitlines()
        result["audit_lines"] = len(audit)
    if args.libraries:
        result["libraries"] = {"served": len(args.libraries) + 1, "results_not_theirs": len(leaks),
                               "first": leaks[:3]}
    if flood is not None:
        result["flood"] = flood.report()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("soak-hostile.json" if args.hostile else "soak-login.json" if args.login else "soak.json")).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


def shelved(work: Path, corpus: Path, index: Path, more: list[Path]):
    """A libraries file: the soak's own corpus first (uploads go there), then `more`; the
    document ids of each, read with `policyqa documents --json`; and the id of one document of
    the first marked internal (`policyqa visibility`), which no reader may get either."""
    sys.path.insert(0, str(ROOT))
    from assistant.office.libraries import LibrariesFile

    registry = LibrariesFile(work / "libraries.json")
    registry.add("own", str(index), str(corpus))
    for path in more:
        registry.add(path.resolve().name, str(path.resolve()))
    ids: dict[str, set[str]] = {}
    for lib in registry.libraries():
        out = subprocess.run([sys.executable, "-m", "assistant.cli", "documents", "--index", registry.location(lib),
                              "--json"], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True).stdout
        ids[lib.name] = {json.loads(line)["doc_id"] for line in out.splitlines() if line.strip()}
    internal = sorted(ids["own"])[0]
    subprocess.run([sys.executable, "-m", "assistant.cli", "visibility", "内部", internal, "--index", str(index)],
                   cwd=ROOT, env=ENV, check=True, capture_output=True)
    return registry, ids, internal


class Flood:
    """One hostile client, four ways at once, until `stop_at`; the server's memory and the disk
    it writes sampled every 5 s."""

    def __init__(self, url: str, stop_at: float, pid: int, work: Path, cache: Path, kinds: list[str]):
        self.url, self.stop_at, self.pid, self.work, self.cache = url, stop_at, pid, work, cache
        self.kinds = kinds
        self.codes: dict[str, dict[str, int]] = {}
        self.samples: list[dict] = []
        self.lock = threading.Lock()

    def threads(self) -> list[threading.Thread]:
        kinds = [k for k in self.kinds if k and k != "none"]  # `--flood none`: the same samples, no flood
        return [threading.Thread(target=getattr(self, kind)) for kind in [*kinds, "sample"]]

    def count(self, kind: str, outcome) -> None:
        with self.lock:
            self.codes.setdefault(kind, {})
            self.codes[kind][str(outcome)] = self.codes[kind].get(str(outcome), 0) + 1

    def logins(self) -> None:
        import httpx

        n = 0
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < self.stop_at:
                n += 1
                if n % 3 == 0:
                    r = client.post(f"{self.url}login", content=f"username=reader&username=admin&password=g{n}",
                                    headers={"content-type": "application/x-www-form-urlencoded"})
                else:
                    name = "admin" if n % 3 == 1 else "长" * 20_000
                    r = client.post(f"{self.url}login", data={"username": name, "password": f"guess{n}"},
                                    headers={"X-Forwarded-For": f"10.{n % 250}.0.1"})
                self.count("login", r.status_code)

    def _client(self):
        from gradio_client import Client

        return Client(self.url, auth=("flooder", "flooder-password"), verbose=False)

    def feedback(self) -> None:
        client = self._client()
        while time.monotonic() < self.stop_at:
            try:
                reply = client.predict("发展党员有哪些要求", "没用", "意见" * 2500, api_name="/feedback")
            except Exception:  # noqa: BLE001 - its share of the queue is full (its own flood)
                self.count("feedback", "queue_full")
                time.sleep(0.5)
                continue
            self.count("feedback", "recorded" if "谢谢" in reply else "limited" if "频繁" in reply else "other")

    def uploads(self) -> None:
        import httpx

        login = httpx.post(f"{self.url}login", data={"username": "flooder", "password": "flooder-password"})
        cookies = dict(login.cookies)
        payload = os.urandom(2 * 1024 * 1024)
        with httpx.Client(timeout=60, cookies=cookies) as client:
            n = 0
            while time.monotonic() < self.stop_at:
                n += 1
                r = client.post(f"{self.url}gradio_api/upload", files={"files": (f"草稿{n}.txt", payload)})
                self.count("upload", r.status_code)
                if r.status_code == 429:
                    time.sleep(1)

    def queue(self) -> None:
        client = self._client()
        while time.monotonic() < self.stop_at:
            jobs = [client.submit("那2024年呢", [], [], [], "发展党员有哪些要求", api_name="/ask") for _ in range(50)]
            for job in jobs:
                try:
                    job.result(timeout=120)
                    self.count("queue", "answered")
                except Exception:  # noqa: BLE001 - refused at the queue (its share is full)
                    self.count("queue", "refused")

    def sample(self) -> None:
        while time.monotonic() < self.stop_at:
            self.samples.append({"t": round(time.monotonic() - self.stop_at, 1), "rss_mb": round(rss_mb(self.pid)),
                                 "logs_kb": round(self._bytes(self.work.glob("index.*.jsonl*")) / 1024),
                                 "uploads_mb": round(self._bytes((self.cache / "page-files").rglob("*")) / 2**20, 1)})
            time.sleep(5)

    @staticmethod
    def _bytes(paths) -> int:
        total = 0
        for p in paths:
            try:
                total += p.stat().st_size if p.is_file() else 0
            except OSError:
                pass
        return total

    def report(self) -> dict:
        rss = [s["rss_mb"] for s in self.samples]
        return {"answers": self.codes,
                "server_rss_mb": {"first": rss[0], "max": max(rss), "last": rss[-1]} if rss else {},
                "logs_kb_max": max((s["logs_kb"] for s in self.samples), default=0),
                "uploads_mb_max": max((s["uploads_mb"] for s in self.samples), default=0),
                "samples": self.samples[:: max(1, len(self.samples) // 24)]}


if __name__ == "__main__":
    main()
