"""The JSON API's cost over the library, and the server under many clients (issue 32).

    python bench/bench_api.py INDEX [--clients 20] [--seconds 120] [--rounds 3]

Starts `policyqa serve` on INDEX (a users file and a key made for the run), then prints, in one run:
  1. warm search p50: in-process (`engine.search`) and through `/api/v1/search`, and their ratio;
  2. `--clients` concurrent API clients for `--seconds` (searches and questions of ../shared/eval/
     dev.jsonl in turn, each client with its own key): requests, failures, p50/p95 per kind;
  3. `ask` with `stream: true`: time to the first streamed event and to the whole answer (p50).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from assistant.search.engine import open_engine  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def cli(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "webui.cli", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def start(index: str, work: Path) -> tuple[subprocess.Popen, str, list[str]]:
    users = work / "users.json"
    cli("user", "add", "bench", "--role", "reader", "--password", "bench-pass-1", "--users", str(users))
    keys = [cli("key", "create", f"bench-{n}", "--user", "bench", "--per-minute", "100000", "--users", str(users))
            for n in range(8)]
    port = 7800 + os.getpid() % 150
    proc = subprocess.Popen([sys.executable, "-m", "webui.cli", "serve", "--index", index, "--users", str(users),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, url, keys


def warm_search(url: str, key: str, engine, questions: list[str], rounds: int) -> None:
    """In-process search and the same search over HTTP, in turn; over HTTP with two clients:
    the standard library's (keep-alive, nearly no cost of its own) and httpx (a popular client,
    which itself spends about a millisecond a request)."""
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    host, port = url.removeprefix("http://").split(":")
    plain = http.client.HTTPConnection(host, int(port), timeout=120)

    def stdlib(q: str) -> float:
        plain.request("POST", "/api/v1/search", body=json.dumps({"query": q, "k": 5}).encode(), headers=auth)
        r = plain.getresponse()
        r.read()
        assert r.status == 200, r.status
        return float(r.getheader("server-timing").partition("dur=")[2]) / 1000

    with httpx.Client(base_url=url, headers=auth, timeout=120) as client:
        def popular(q: str) -> float:
            r = client.post("/api/v1/search", json={"query": q, "k": 5})
            assert r.status_code == 200, r.text
            return float(r.headers["server-timing"].partition("dur=")[2]) / 1000

        times: dict[str, list[float]] = {"in-process": [], "stdlib": [], "httpx": [], "app": []}
        for q in questions:  # warm all three
            engine.search(q, k=5), stdlib(q), popular(q)
        for _ in range(rounds):
            for q in questions:  # in turn, so a drift of the machine's speed reaches each alike
                t = time.perf_counter()
                engine.search(q, k=5)
                times["in-process"].append(time.perf_counter() - t)
                for name, call in (("stdlib", stdlib), ("httpx", popular)):
                    t = time.perf_counter()
                    app = call(q)
                    times[name].append(time.perf_counter() - t)
                times["app"].append(app)
    plain.close()
    local = pct(times["in-process"], .5)
    paired = {name: statistics.median(a / b for a, b in zip(times[name], times["in-process"], strict=True))
              for name in ("stdlib", "httpx")}
    print(f"warm search p50 ({len(times['app'])} each): in-process {local:.1f} ms; /api/v1/search with "
          f"http.client {pct(times['stdlib'], .5):.1f} ms (ratio {pct(times['stdlib'], .5) / local:.2f}), "
          f"with httpx {pct(times['httpx'], .5):.1f} ms (ratio {pct(times['httpx'], .5) / local:.2f}); "
          f"in the server's app {pct(times['app'], .5):.1f} ms (Server-Timing); median of the paired ratios: "
          f"http.client {paired['stdlib']:.2f}, httpx {paired['httpx']:.2f}")


def load(url: str, keys: list[str], questions: list[str], clients: int, seconds: float) -> None:
    times: dict[str, list[float]] = {"search": [], "ask": []}
    failures: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[n % len(keys)]}"}, timeout=300) as http:
            i = n
            while time.monotonic() < stop:
                q = questions[i % len(questions)]
                kind = "ask" if i % 3 == 0 else "search"
                body = {"question": q} if kind == "ask" else {"query": q, "k": 5}
                t = time.perf_counter()
                try:
                    r = http.post(f"/api/v1/{kind}", json=body)
                    ok = r.status_code == 200
                    why = "" if ok else f"{r.status_code} {r.text[:80]}"
                except httpx.HTTPError as e:
                    ok, why = False, type(e).__name__
                with lock:
                    (times[kind] if ok else failures).append(time.perf_counter() - t if ok else why)
                i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(len(v) for v in times.values()) + len(failures)
    print(f"{clients} clients, {seconds:.0f} s: {total} requests, {len(failures)} failures"
          + (f" (first: {failures[0]})" if failures else ""))
    for kind, values in times.items():
        print(f"  {kind:<7} n={len(values):<5} p50 {pct(values, .5):.0f} ms  p95 {pct(values, .95):.0f} ms")


def first_token(url: str, key: str, questions: list[str]) -> None:
    firsts, wholes = [], []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as http:
        for q in questions:
            t = time.perf_counter()
            first = None
            with http.stream("POST", "/api/v1/ask", json={"question": q, "stream": True}) as r:
                for line in r.iter_lines():
                    if first is None and line.startswith("data: "):
                        first = time.perf_counter() - t
            firsts.append(first or 0.0)
            wholes.append(time.perf_counter() - t)
    print(f"ask stream: first event p50 {pct(firsts, .5):.0f} ms, whole answer p50 {pct(wholes, .5):.0f} ms "
          f"({len(firsts)} questions)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("index")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--gold", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    args = p.parse_args()
    with open(args.gold, encoding="utf-8") as f:
        questions = [json.loads(line)["question"] for line in f if line.strip()]
    engine = open_engine(args.index)
    with tempfile.TemporaryDirectory() as work:
        proc, url, keys = start(args.index, Path(work))
        try:
            warm_search(url, keys[0], engine, questions, args.rounds)
            first_token(url, keys[0], questions[:10])
            load(url, keys, questions, args.clients, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
