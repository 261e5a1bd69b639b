"""Real workers in real processes: progress, priorities, not-before, kill -9 of
a job and of a worker, bounded retries, cancel (with partial-file cleanup),
a RAM budget, ensure_worker."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lqmf.tools import scheduler
from lqmf.tools.scheduler import recovery
from lqmf.tools.scheduler.jobs import JobState

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LQMF_RETRY_BACKOFF_S", "0.2")
    return tmp_path / "home"


@pytest.fixture
def workers():
    procs: list[subprocess.Popen] = []

    def start(*flags: str) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-m", "lqmf.tools.scheduler.worker", *flags], cwd=ROOT,
                             env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def wait_for(pred, timeout=30.0, every=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (v := pred()):
            return v
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s")


def test_worker_runs_jobs_and_streams_progress(home, workers):
    ids = [scheduler.submit("noop", {}) for _ in range(5)]
    slow = scheduler.submit("sleep", {"seconds": 1.5})
    w = workers("--drain", "--max-jobs", "2")
    seen = wait_for(lambda: (j := scheduler.get(slow)).state is JobState.RUNNING and j.progress
                    and 0 < j.progress < 1 and j)
    assert seen.stage == "sleeping" and seen.pid and seen.worker
    assert w.wait(timeout=30) == 0
    for jid in ids + [slow]:
        j = scheduler.get(jid)
        assert j.state is JobState.SUCCEEDED and j.attempts == 1 and j.progress == 1.0, j
    assert scheduler.get(slow).peak_rss_bytes > 1 << 20


def test_priorities_decide_the_start_order(home, workers):
    low = scheduler.submit("sleep", {"seconds": 0.05}, priority="low")
    normal = scheduler.submit("sleep", {"seconds": 0.05})
    high = scheduler.submit("sleep", {"seconds": 0.05}, priority="high")
    urgent = scheduler.submit("sleep", {"seconds": 0.05}, priority="urgent")
    workers("--drain", "--max-jobs", "1", "--cores", "1").wait(timeout=30)
    order = sorted([low, normal, high, urgent], key=lambda i: scheduler.get(i).started_at)
    assert order == [urgent, high, normal, low]


def test_not_before_is_respected(home, workers):
    t0 = time.time()
    later = scheduler.submit("noop", {}, not_before=t0 + 1.5)
    now = scheduler.submit("noop", {})
    workers("--max-jobs", "1")
    wait_for(lambda: scheduler.get(now).state is JobState.SUCCEEDED)
    assert scheduler.get(later).state is JobState.QUEUED
    wait_for(lambda: scheduler.get(later).state is JobState.SUCCEEDED, timeout=10)
    assert scheduler.get(later).started_at >= t0 + 1.5


def test_kill9_of_job_process_retries_once_and_completes_once(home, workers, tmp_path):
    marker = tmp_path / "done.txt"
    jid = scheduler.submit("sleep", {"seconds": 1.0, "marker": str(marker)})
    workers("--drain")
    pid = wait_for(lambda: (j := scheduler.get(jid)).state is JobState.RUNNING and j.pid)
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    j = wait_for(lambda: (j := scheduler.get(jid)).state.done and j, timeout=30)
    assert j.state is JobState.SUCCEEDED and j.attempts == 2
    assert marker.read_text().count("\n") == 1  # completed exactly once


def test_kill9_of_worker_takes_its_job_and_another_worker_retries(home, workers, tmp_path):
    marker = tmp_path / "done.txt"
    jid = scheduler.submit("sleep", {"seconds": 1.5, "marker": str(marker)})
    w1 = workers()
    job_pid = wait_for(lambda: (j := scheduler.get(jid)).state is JobState.RUNNING and j.pid)
    os.kill(w1.pid, signal.SIGKILL)
    w1.wait()
    wait_for(lambda: not psutil.pid_exists(job_pid) or psutil.Process(job_pid).status() == "zombie", timeout=5)
    assert scheduler.get(jid).state is JobState.RUNNING  # nobody has noticed yet
    workers("--drain")
    j = wait_for(lambda: (j := scheduler.get(jid)).state.done and j, timeout=30)
    assert j.state is JobState.SUCCEEDED and j.attempts == 2
    assert marker.read_text().count("\n") == 1


def test_a_job_that_always_crashes_fails_after_bounded_attempts(home, workers):
    jid = scheduler.submit("sleep", {"seconds": 0.05, "crash": True}, max_attempts=3)
    workers("--drain").wait(timeout=60)
    j = scheduler.get(jid)
    assert j.state is JobState.FAILED and j.attempts == 3
    assert "died with SIGKILL" in j.error and "gave up after 3 attempts" in j.error


def test_cancel_running_job_kills_it_and_removes_partials(home, workers, tmp_path):
    out = tmp_path / "out"
    jid = scheduler.submit("sleep", {"seconds": 30, "out_dir": str(out)})
    queued = scheduler.submit("noop", {}, not_before="in 1 hour")
    workers()
    pid = wait_for(lambda: (j := scheduler.get(jid)).state is JobState.RUNNING and j.pid)
    wait_for(lambda: list(out.glob(".sleep.out.partial-*")))
    j = scheduler.cancel(jid)
    assert j.state is JobState.CANCELLED
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    assert list(out.iterdir()) == []  # partial file removed, nothing final written
    assert scheduler.cancel(queued).state is JobState.CANCELLED


def test_cancel_running_job_whose_worker_is_gone(home, workers, tmp_path):
    """The worker is stopped (SIGSTOP) so it cannot act: cancel does it itself."""
    out = tmp_path / "out"
    jid = scheduler.submit("sleep", {"seconds": 30, "out_dir": str(out)})
    w = workers()
    pid = wait_for(lambda: (j := scheduler.get(jid)).state is JobState.RUNNING and j.pid)
    wait_for(lambda: list(out.glob(".sleep.out.partial-*")))
    # a forked job has its worker's command line: it is known by its parent and start time
    assert recovery.is_job_process(pid, scheduler.get(jid))
    assert not recovery.is_job_process(os.getpid(), scheduler.get(jid))
    os.kill(w.pid, signal.SIGSTOP)
    try:
        j = scheduler.cancel(jid, wait_s=1.0)
    finally:
        os.kill(w.pid, signal.SIGCONT)
    assert j.state is JobState.CANCELLED
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", timeout=5)
    assert list(out.iterdir()) == []


def test_ram_budget_holds_and_every_job_finishes(home, workers):
    # each job holds 150 MB; the budget fits one (190 MB needed) but not two
    ids = [scheduler.submit("sleep", {"seconds": 0.6, "mem_mb": 150}) for _ in range(3)]
    w = workers("--drain", "--ram-budget", "300M", "--max-jobs", "3", "--cores", "3")
    peak = 0
    while w.poll() is None:
        rss = 0
        for j in scheduler.list([JobState.RUNNING]):
            try:
                rss += psutil.Process(j.pid).memory_info().rss if j.pid else 0
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(0.01)
    jobs = [scheduler.get(i) for i in ids]
    assert all(j.state is JobState.SUCCEEDED for j in jobs)
    assert 150 << 20 < peak <= 300 << 20
    spans = sorted((j.started_at, j.finished_at) for j in jobs)
    assert all(a[1] <= b[0] + 0.05 for a, b in zip(spans, spans[1:]))  # never two at once


def test_ensure_worker_starts_one_and_reuses_it(home):
    wid = scheduler.ensure_worker(idle_exit_s=30)
    try:
        assert scheduler.ensure_worker() == wid
        jid = scheduler.submit("noop", {})
        wait_for(lambda: scheduler.get(jid).state is JobState.SUCCEEDED, timeout=15)
    finally:
        os.kill(int(wid.split(":")[1]), signal.SIGTERM)


def test_cli_worker_once_and_jobs_json(home):
    env = dict(os.environ)
    jid = scheduler.submit("noop", {})
    r = subprocess.run([sys.executable, "-m", "lqmf.copilot.cli", "worker", "--once", "--json"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert '"succeeded": 1' in r.stdout
    r = subprocess.run([sys.executable, "-m", "lqmf.copilot.cli", "jobs", "show", jid, "--json"], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0 and '"state": "succeeded"' in r.stdout
