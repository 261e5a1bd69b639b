"""Scheduler bench: queue overhead, quantize through the queue vs in the
foreground, a RAM budget under real quantize jobs, kill -9 of a worker.

    .venv/bin/python bench/scheduler_bench.py [--jobs 1000] [--skip-quantize]

Everything runs in a fresh LQMF_HOME (the F16 cache of the bundled model is
copied in when one exists under the user's data dir, else made once first).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def start_worker(*flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lqmf.tools.scheduler.worker", *flags], cwd=ROOT,
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def wait_done(ids: list[str], timeout: float = 600) -> list:
    """Poll one open store lightly (the bench must not steal the job's CPU)."""
    from lqmf.tools.scheduler.store import JobStore
    store = JobStore(check=False)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            jobs = [store.get(i) for i in ids]
            if all(j.state.done for j in jobs):
                return jobs
            time.sleep(0.02)
    finally:
        store.close()
    raise SystemExit(f"jobs not done after {timeout}s")


def bench_noop(n: int) -> None:
    from lqmf.tools import scheduler
    from lqmf.tools.scheduler.jobs import Job, JobKind
    from lqmf.tools.scheduler.store import JobStore

    store = JobStore()
    jobs = [Job(JobKind.NOOP, {}) for _ in range(n)]
    for j in jobs:
        j.needs.ram_bytes = 64 << 20
    store.add_many(jobs)
    store.close()
    t0 = time.perf_counter()
    w = start_worker("--drain")
    w.wait()
    wall = time.perf_counter() - t0
    done = [scheduler.get(j.id) for j in jobs]
    ok = sum(j.state.value == "succeeded" for j in done)
    span = max(j.finished_at for j in done) - min(j.started_at for j in done)
    print(f"noop burst: {ok}/{n} succeeded in {wall:.2f} s wall (worker start to exit); "
          f"{n / span:.0f} jobs/s between first start and last finish ({os.cpu_count()} cores, launch="
          f"{os.environ.get('LQMF_JOB_LAUNCH', 'fork')})")

    # start latency: jobs arrive one at a time at a worker that is already running
    w = start_worker()
    time.sleep(1.0)
    ids = []
    sub = JobStore()
    for _ in range(200):
        ids.append(scheduler.submit("noop", {}, store=sub))
        time.sleep(0.05)
    sub.close()
    done = wait_done(ids)
    w.send_signal(signal.SIGTERM)
    w.wait()
    claim = [j.started_at - j.created_at for j in done]
    total = [j.finished_at - j.created_at for j in done]
    print(f"noop start latency (200 jobs, one every 50 ms, worker already running): p50 {pct(claim, 50) * 1000:.0f} ms, "
          f"p95 {pct(claim, 95) * 1000:.0f} ms to start; submit-to-done p50 {pct(total, 50) * 1000:.0f} ms, "
          f"p95 {pct(total, 95) * 1000:.0f} ms")


def warm_f16(user_home: Path | None) -> None:
    """Copy the user's cached F16 / dense model of the bundled model, or make it once."""
    from lqmf.tools.config import cache_dir
    if user_home and (user_home / "cache").is_dir():
        for sub in ("f16", "dense", "digests.json"):
            src = user_home / "cache" / sub
            if src.is_dir():
                shutil.copytree(src, cache_dir() / sub, dirs_exist_ok=True)
            elif src.is_file():
                shutil.copy2(src, cache_dir() / sub)
    from lqmf.tools.scheduler.resources import f16_cached
    if not f16_cached("smollm2"):
        from lqmf.tools.quantize.convert import f16_gguf
        from lqmf.tools.models import resolve
        t = time.perf_counter()
        f16_gguf(resolve("smollm2"))
        print(f"(made the F16 cache once: {time.perf_counter() - t:.1f} s)")


FOREGROUND = ("import sys; from lqmf.tools.quantize import quantize; "
              "quantize('smollm2', 'Q4_K_M', out_dir=sys.argv[1])")


def bench_quantize(tmp: Path, reps: int) -> None:
    from lqmf.tools import scheduler
    fg, q = [], []
    w = start_worker()
    time.sleep(1.0)
    try:
        for i in range(reps):
            out = tmp / f"fg{i}"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", FOREGROUND, str(out)], cwd=ROOT, check=True)
            fg.append(time.perf_counter() - t)
            t = time.perf_counter()
            jid = scheduler.submit("quantize", {"model": "smollm2", "quant_type": "Q4_K_M", "out_dir": str(tmp / f"q{i}")})
            (job,) = wait_done([jid])
            q.append(time.perf_counter() - t)
            assert job.state.value == "succeeded", job.error
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait()
    f, qq = statistics.median(fg), statistics.median(q)
    print(f"Q4_K_M of smollm2 from cached F16: foreground {f:.2f} s (python -c quantize(...), median of {reps}), "
          f"through the queue {qq:.2f} s (submit to succeeded) -> ratio {qq / f:.3f} (target <= 1.05)")


def rss_of_running() -> int:
    import psutil
    from lqmf.tools import scheduler
    total = 0
    for j in scheduler.list(["running"]):
        if not j.pid:
            continue
        try:
            p = psutil.Process(j.pid)
            total += p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
        except psutil.Error:
            pass
    return total


def bench_ram_budget(tmp: Path) -> None:
    from lqmf.tools import scheduler
    from lqmf.tools.fsutil import human_bytes
    types = ["Q4_K_M", "Q5_K_M", "Q8_0", "Q6_K"]
    ids = [scheduler.submit("quantize", {"model": "smollm2", "quant_type": t, "threads": 1,
                                         "out_dir": str(tmp / f"budget-{t}")}) for t in types]
    need = scheduler.get(ids[0]).needs.ram_bytes
    budget = int(need * 1.5)  # one fits, two do not
    w = start_worker("--drain", "--ram-budget", str(budget), "--cores", "2", "--max-jobs", "4")
    peak, most_at_once = 0, 0
    while w.poll() is None:
        peak = max(peak, rss_of_running())
        most_at_once = max(most_at_once, len(scheduler.list(["running"])))
        time.sleep(0.02)
    jobs = [scheduler.get(i) for i in ids]
    ok = sum(j.state.value == "succeeded" for j in jobs)
    print(f"RAM budget {human_bytes(budget)} (1.5x one job's estimate of {human_bytes(need)}): "
          f"{ok}/{len(ids)} jobs succeeded, measured peak RSS of running jobs {human_bytes(peak)} "
          f"({'within' if peak <= budget else 'OVER'} budget), at most {most_at_once} running at once")


def bench_kill9(tmp: Path) -> None:
    from lqmf.tools import scheduler
    from lqmf.tools.store.experiments import default_store
    out = tmp / "kill9"
    jid = scheduler.submit("quantize", {"model": "smollm2", "quant_type": "Q8_0", "out_dir": str(out)})
    w1 = start_worker()
    t0 = time.monotonic()
    while scheduler.get(jid).stage in ("", "starting", "running") and time.monotonic() - t0 < 60:
        time.sleep(0.01)  # until the engine reports progress: mid-job
    time.sleep(0.3)
    mid = scheduler.get(jid)
    os.kill(w1.pid, signal.SIGKILL)
    w1.wait()
    w2 = start_worker("--drain")
    w2.wait()
    job = scheduler.get(jid)
    art = job.result and job.result.get("artifact")
    recs = [r for r in default_store().all() if r.kind == "quantize" and r.status == "succeeded"
            and r.artifact and art and Path(r.artifact).resolve() == Path(art).resolve()]
    partials = [p.name for p in out.glob(".*partial*")] if out.exists() else []
    print(f"kill -9 of the worker at stage '{mid.stage}' ({mid.state.value}): job {job.state.value} after "
          f"{job.attempts} attempts; succeeded records for its artifact: {len(recs)}; partial files left: {len(partials)}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-quantize", action="store_true")
    a = ap.parse_args()
    user_home = Path(os.environ["LQMF_HOME"]) if os.environ.get("LQMF_HOME") else Path.home() / ".local/share/lqmf"
    tmp = Path(tempfile.mkdtemp(prefix="lqmf-sched-bench-"))
    os.environ["LQMF_HOME"] = str(tmp / "home")
    os.environ.setdefault("LQMF_RETRY_BACKOFF_S", "0.5")
    try:
        if a.jobs:
            bench_noop(a.jobs)
        if not a.skip_quantize:
            warm_f16(user_home)
            bench_quantize(tmp, a.reps)
            bench_ram_budget(tmp)
            bench_kill9(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
