"""Server bench: what `lqmf serve` adds over calling the application layer,
how fast the dashboard paints with 10k records, and 50 concurrent clients.

    .venv/bin/python bench/serve_bench.py [--records 1000] [--dash-records 10000]
                                          [--clients 50] [--seconds 60] [--skip-dashboard]

1. API overhead: GET /api/records?limit=N (HTTP on loopback, JSON) against the
   same read through the application layer in the server's process (query.records,
   sort, to_dict); p50/p95 of each over 100 calls in turn, and of the difference.
   The client is a process of its own, as real clients are (judged); the same
   from a client thread inside the server's process is printed beside it, where
   the client and the server share one interpreter lock.
   Target: overhead p95 < 10 ms at 1,000 records.
2. Dashboard first paint: headless Debian chromium (Playwright), /matrix and /
   with 10k records in the store: first-contentful-paint from the browser's own
   Paint Timing entries, after one warm-up load. Target < 1 s.
3. Load: N clients for S seconds, each mixing reads (jobs, records, matrix rows)
   and job submissions (the test hook's noop kind: real rows in the real job
   queue, run by a real worker). Afterwards every accepted job must be in the
   queue exactly once and finished. Target: no errors, nothing lost or doubled.

Each part runs in a fresh LQMF_HOME; the server runs in this process (uvicorn
in a thread) so both sides of (1) share one App.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def records(n: int) -> list:
    from lqmf.tools.store.records import ExperimentRecord

    models = ["smollm2", "gemma3-270m", "llama-3.2-3b", "qwen2.5-1.5b", "mistral-7b"]
    types = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K"]
    rng = random.Random(7)
    now = time.time()
    return [ExperimentRecord(kind="benchmark", status="succeeded", model=rng.choice(models), model_name="",
                             method="gguf", quant_type=rng.choice(types), size_bytes=rng.randint(50, 5000) * 10**6,
                             gen_tok_s=rng.uniform(5, 100), ppl=rng.uniform(10, 30), kld_mean=rng.uniform(0.001, 1),
                             created_at=now - i * 60, id=f"r{i:06d}") for i in range(n)]


def fresh_home(tag: str) -> Path:
    from lqmf.tools.config import scratch_data_dir

    return scratch_data_dir(f"lqmf-serve-bench-{tag}-")


def seed(n: int) -> None:
    from lqmf.tools.store.experiments import default_store

    recs = records(n)
    for r in recs:
        r.model_name = r.model
    default_store().add_many(recs)


class Served:
    """uvicorn in a thread, on a free loopback port."""

    def __init__(self, app):
        import socket

        import uvicorn

        from lqmf.copilot.server.main import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(app), host="127.0.0.1", port=self.port,
                                                    log_level="error", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def stop_workers() -> None:
    from lqmf.tools.scheduler import JobStore

    s = JobStore()
    for w in s.workers():
        try:
            os.kill(int(w["pid"]), signal.SIGTERM)
        except (ProcessLookupError, ValueError, KeyError):
            pass
    s.close()


CLIENT = """
import sys, time, httpx
url, n = sys.argv[1], int(sys.argv[2])
with httpx.Client(base_url=url, timeout=60) as c:
    for line in sys.stdin:
        t = time.perf_counter()
        r = c.get("/api/records", params={"limit": n})
        dt = time.perf_counter() - t
        print(dt, r.status_code, len(r.json()), flush=True)
"""


class ProcessClient:
    """The API's client in a process of its own, as every real client is: an httpx
    client in this process would share its interpreter lock with the server's threads."""

    def __init__(self, url: str, n: int):
        import subprocess

        self.p = subprocess.Popen([sys.executable, "-c", CLIENT, url, str(n)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def get(self) -> tuple[float, int, int]:
        assert self.p.stdin and self.p.stdout
        self.p.stdin.write("\n")
        self.p.stdin.flush()
        dt, status, rows = self.p.stdout.readline().split()
        return float(dt), int(status), int(rows)

    def close(self) -> None:
        assert self.p.stdin
        self.p.stdin.close()
        self.p.wait(timeout=30)


class ThreadClient:
    def __init__(self, url: str, n: int):
        import httpx

        self.c, self.n = httpx.Client(base_url=url, timeout=60), n

    def get(self) -> tuple[float, int, int]:
        t = time.perf_counter()
        r = self.c.get("/api/records", params={"limit": self.n})
        dt = time.perf_counter() - t
        return dt, r.status_code, len(r.json())

    def close(self) -> None:
        self.c.close()


def overhead(n: int, calls: int = 100) -> dict:
    """Each call read both ways in turn: the application layer in this process, and the
    API from a client process (and, for comparison, from a client thread in this process)."""
    from lqmf.copilot.app import App, query

    fresh_home("overhead")
    seed(n)
    app = App()
    app.store()
    srv = Served(app)
    import gc

    deadline = time.monotonic() + 120
    while not gc.get_freeze_count() and time.monotonic() < deadline:
        time.sleep(0.05)   # the server's warm-up (store open, then the collector's freeze) is done

    def direct():
        return [r.to_dict() for r in sorted(query.records(app), key=lambda r: -r.created_at)[:n]]

    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    out: dict = {"records": n}
    try:
        for name, make in (("process", ProcessClient), ("thread", ThreadClient)):
            client = make(srv.url, n)
            d, a = [], []
            try:
                for _ in range(5):
                    direct()
                    client.get()
                for _ in range(calls):
                    t = time.perf_counter()
                    rows = direct()
                    d.append(time.perf_counter() - t)
                    dt, status, got = client.get()
                    a.append(dt)
                    assert status == 200 and got == len(rows) == n, (status, got)
            finally:
                client.close()
            diffs = [x - y for x, y in zip(a, d)]
            out[name] = {"direct_p50_ms": ms(pct(d, 50)), "direct_p95_ms": ms(pct(d, 95)),
                         "api_p50_ms": ms(pct(a, 50)), "api_p95_ms": ms(pct(a, 95)),
                         "overhead_p50_ms": ms(pct(diffs, 50)), "overhead_p95_ms": ms(pct(diffs, 95))}
    finally:
        srv.stop()
    out["overhead_p95_ms"] = out["process"]["overhead_p95_ms"]
    return out


def first_paint(n: int) -> dict:
    from playwright.sync_api import sync_playwright

    from lqmf.copilot.app import App

    fresh_home("dash")
    t = time.perf_counter()
    seed(n)
    seeded_s = time.perf_counter() - t
    app = App()
    srv = Served(app)
    out: dict = {"records": n, "seed_s": round(seeded_s, 1)}
    try:
        import httpx

        httpx.get(srv.url + "/api/records?limit=1", timeout=600)
        exe = shutil.which("chromium")
        if not exe:
            return {**out, "skipped": "no chromium (apt-get install chromium)"}
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            fcp_js = """() => new Promise(done => new PerformanceObserver(list => {
                const e = list.getEntries().find(x => x.name === 'first-contentful-paint'); if (e) done(e.startTime);
            }).observe({type: 'paint', buffered: true}))"""
            for path in ("/matrix", "/"):
                fcps, ttfb = [], []
                for i in range(6):            # the first is a warm-up (caches, the browser's own start)
                    page = b.new_page()
                    page.goto(srv.url + path, wait_until="load")
                    fcp = page.evaluate(fcp_js)
                    nav = page.evaluate("() => performance.getEntriesByType('navigation')[0].responseStart")
                    page.close()
                    if i:
                        fcps.append(fcp)
                        ttfb.append(nav)
                out[f"fcp_ms{path.replace('/', '_') if path != '/' else '_jobs'}"] = {
                    "median": round(statistics.median(fcps)), "max": round(max(fcps)),
                    "server_response_median": round(statistics.median(ttfb))}
            b.close()
    finally:
        srv.stop()
    return out


def load(clients: int, seconds: float) -> dict:
    import httpx

    from lqmf.copilot.app import testing
    from lqmf.copilot.app.jobs import list_jobs

    fresh_home("load")
    seed(200)
    app = testing.app("noop", worker=True)
    srv = Served(app)
    accepted: list[str] = []
    errors: list[str] = []
    counts = {"reads": 0, "submits": 0}
    lock = threading.Lock()
    lat: list[float] = []
    stop_at = time.monotonic() + seconds

    def client(k: int) -> None:
        rng = random.Random(k)
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            while time.monotonic() < stop_at:
                t = time.perf_counter()
                try:
                    if rng.random() < 0.25:
                        r = c.post("/api/jobs", json={"kind": "quantize", "model": "smollm2", "quant_type": "Q4_K_M"})
                        ok = r.status_code == 202
                        if ok:
                            with lock:
                                accepted.append(r.json()["job"])
                                counts["submits"] += 1
                    else:
                        path = rng.choice(["/api/jobs?limit=20", "/api/records?limit=50", "/matrix/rows?sort=kld_mean"])
                        r = c.get(path)
                        ok = r.status_code == 200
                        with lock:
                            counts["reads"] += 1
                    if not ok:
                        with lock:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as e:
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}")
                with lock:
                    lat.append(time.perf_counter() - t)

    try:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            jobs = list_jobs(app)
            if all(j.done for j in jobs):
                break
            time.sleep(1)
        jobs = list_jobs(app)
    finally:
        srv.stop()
        stop_workers()
    ids = [j.id for j in jobs]
    lost = set(accepted) - set(ids)
    doubled = len(ids) - len(set(ids))
    extra = set(ids) - set(accepted)
    not_done = [j.id for j in jobs if j.status.value != "succeeded"]
    return {"clients": clients, "seconds": seconds, "requests": counts["reads"] + counts["submits"],
            "submits": counts["submits"], "errors": len(errors), "first_errors": errors[:3], "lost": len(lost),
            "doubled": doubled, "unexpected": len(extra), "not_succeeded": len(not_done),
            "p50_ms": round(pct(lat, 50) * 1000, 1), "p95_ms": round(pct(lat, 95) * 1000, 1),
            "req_per_s": round(len(lat) / seconds, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--dash-records", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--skip-dashboard", action="store_true")
    ap.add_argument("--skip-load", action="store_true")
    args = ap.parse_args()
    import json

    import psutil

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{psutil.cpu_percent(interval=1):.0f}% CPU busy before the bench")
    if not args.skip_overhead:
        res = overhead(args.records)
        print("api overhead:", json.dumps(res), "PASS" if res["overhead_p95_ms"] < 10 else "FAIL (target p95 < 10 ms)",
              flush=True)
    if not args.skip_dashboard:
        res = first_paint(args.dash_records)
        worst = max((v["median"] for k, v in res.items() if k.startswith("fcp_ms")), default=None)
        print("dashboard first paint:", json.dumps(res),
              "" if worst is None else ("PASS" if worst < 1000 else "FAIL (target < 1 s)"), flush=True)
    if not args.skip_load:
        res = load(args.clients, args.seconds)
        good = res["errors"] == 0 and res["lost"] == 0 and res["doubled"] == 0 and res["not_succeeded"] == 0
        print("load:", json.dumps(res), "PASS" if good else "FAIL")
    print(f"load average after: {os.getloadavg()[0]:.1f} (a busy machine inflates every latency)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
