"""The local worker pool: runs queued jobs, each in its own process, within a
budget; heartbeats; reaps, retries and cancels. ``lqmf worker`` runs one.

The loop is single-threaded on purpose: job processes are started from it
with a parent-death signal, so a worker killed with -9 takes its jobs with
it and the next worker retries them.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lqmf.tools.config import sub_dir
from lqmf.tools.scheduler import admission, launch, recovery
from lqmf.tools.scheduler.jobs import Job, JobState
from lqmf.tools.scheduler.kinds import spec_for
from lqmf.tools.scheduler.resources import Budget, free_ram, make_budget
from lqmf.tools.scheduler.store import JobStore
from lqmf.tools.settings import present


@dataclass
class Running:
    job: Job
    attempt: int
    proc: "subprocess.Popen | launch.Forked"
    threads: int
    peak_rss: int = 0
    cancelling: bool = False


@dataclass
class WorkerStats:
    started: int = 0
    finished: dict[str, int] = field(default_factory=dict)


def rss_tree(pid: int) -> int:
    """Resident memory of a process and everything it started."""
    import psutil
    try:
        p = psutil.Process(pid)
        total = p.memory_info().rss
        for c in p.children(recursive=True):
            try:
                total += c.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0


class LocalWorker:
    def __init__(self, budget: Budget | None = None, *, store_path: Path | None = None,
                 poll_s: float = 0.02, heartbeat_s: float = 1.0, drain: bool = False,
                 once: bool = False, max_run: int | None = None, idle_exit_s: float | None = None,
                 launch_how: "launch.Launch | None" = None):
        self.budget = budget or make_budget()
        self.store = JobStore(store_path)
        self.store_path = self.store.path
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.poll_s, self.heartbeat_s = poll_s, heartbeat_s
        self.drain, self.once, self.max_run = drain, once, max_run
        self.idle_exit_s = idle_exit_s
        self.launch = launch_how or launch.default_launch()
        self._idle_since = time.monotonic()
        self.running: dict[str, Running] = {}
        self.stats = WorkerStats()
        self._stop = False
        self._last_beat = 0.0
        self._last_recover = 0.0
        self._last_rss = 0.0
        self.log_dir = sub_dir("jobs", "logs")

    # ---- lifecycle -------------------------------------------------------------
    def run(self) -> WorkerStats:
        self.store.register_worker(self.id, {"budget": self.budget.__dict__, "kind": "local"})
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._stop:
                self.step()
                if self._should_exit():
                    break
                time.sleep(self.poll_s)
        finally:
            self._shutdown()
            for s, h in old.items():
                signal.signal(s, h)
        return self.stats

    def _on_signal(self, signum, frame) -> None:
        self._stop = True

    def _should_exit(self) -> bool:
        if self.running:
            self._idle_since = time.monotonic()
            return False
        if self.max_run is not None and self.stats.started >= self.max_run:
            return True
        if self.once and self.stats.started:
            return True
        if self.idle_exit_s is not None and time.monotonic() - self._idle_since > self.idle_exit_s:
            return True
        if not (self.drain or self.once):
            return False
        # nothing of ours runs: stop when no queued job can start on this worker now; a job
        # scheduled for later by the user is not waited for, a retry after its backoff is
        now = time.time()
        if self.once:
            return not self.store.runnable(now, 1)
        return not self.store.count_pending(now, self.budget.ram_bytes) and not self.store.list([JobState.RUNNING])

    def _shutdown(self) -> None:
        """Stop: kill our jobs and queue them again without counting the attempt."""
        for r in list(self.running.values()):
            recovery.kill_tree(r.proc.pid)
            r.proc.wait()
            self.store.update(r.job.id, where="state='running' AND attempts=?", where_params=(r.attempt,),
                              state=JobState.QUEUED, attempts=r.attempt - 1, worker=None, pid=None,
                              stage="queued again: its worker stopped")
            self._clean(r.job)
        self.running.clear()
        self.store.unregister_worker(self.id)
        self.store.close()

    # ---- one turn of the loop --------------------------------------------------
    def step(self) -> None:
        now = time.time()
        self._sample_rss()
        self._reap()
        self._cancels()
        if now - self._last_recover > max(1.0, self.heartbeat_s):
            recovery.recover_orphans(self.store, own={self.id})
            self._last_recover = now
        if now - self._last_beat > self.heartbeat_s:
            self.store.worker_heartbeat(self.id)
            self.store.heartbeat(list(self.running))
            self._last_beat = now
        if self.max_run is not None and self.stats.started >= self.max_run:
            return
        if self.once and self.stats.started:
            return
        self._admit(now)

    def _admit(self, now: float) -> None:
        if len(self.running) >= self.budget.max_jobs:
            return
        queued = self.store.runnable(now, max(64, 8 * self.budget.max_jobs))
        if not queued:
            return
        deps = {j.depends_on for j in queued if j.depends_on}
        dep_states: dict[str, JobState | None] = {}
        for dep in deps:
            try:
                dep_states[dep] = self.store.get(dep).state
            except Exception:
                dep_states[dep] = None
        d = admission.choose(queued, [r.job for r in self.running.values()], self.budget, free_ram(), now,
                             dep_state=dep_states.get, shared_ready=_shared_ready)
        for jid, why in d.skip.items():
            self.store.update(jid, where="state='queued'", state=JobState.CANCELLED, error=why,
                              finished_at=now, stage="skipped")
        for jid, why in d.notes.items():
            self.store.update(jid, where="state='queued'", note=why)
        for job in d.start:
            if self.max_run is not None and self.stats.started >= self.max_run:
                break
            if self.store.claim(job.id, self.id):
                self._spawn(self.store.get(job.id))

    def _spawn(self, job: Job) -> None:
        threads = admission.effective_cpus(job, self.budget)
        env = dict(os.environ, LQMF_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   LQMF_WORKER_PID=str(os.getpid()), LQMF_JOB_ID=job.id)
        if not present("home"):
            env["LQMF_HOME"] = str(self.store_path.parent)
        proc = launch.start(job.id, job.attempts, env, self.log_dir / f"{job.id}.log", self.launch)
        self.running[job.id] = Running(job, job.attempts, proc, threads)
        self.stats.started += 1

    def _sample_rss(self) -> None:
        now = time.monotonic()
        if now - self._last_rss < 0.1:  # a /proc scan per job; 10 Hz is plenty
            return
        self._last_rss = now
        for r in self.running.values():
            r.peak_rss = max(r.peak_rss, rss_tree(r.proc.pid))

    def _reap(self) -> None:
        for jid, r in list(self.running.items()):
            code = r.proc.poll()
            if code is None:
                continue
            del self.running[jid]
            job = self.store.get(jid)
            if r.peak_rss:
                self.store.update(jid, peak_rss_bytes=r.peak_rss)
            if job.state is JobState.RUNNING and job.attempts == r.attempt:
                # exited without writing an outcome: it crashed or was killed
                from lqmf.tools.proc import child_error

                why = str(child_error("the job process", code, "")) if code < 0 else \
                    f"the job process exited with code {code} without a result"
                state = recovery.requeue_or_fail(self.store, job, why)
                self._clean(job)
            else:
                state = job.state
            self.stats.finished[state.value] = self.stats.finished.get(state.value, 0) + 1

    def _cancels(self) -> None:
        for jid in self.store.cancel_requested(list(self.running)):
            r = self.running.pop(jid)
            recovery.kill_tree(r.proc.pid)
            r.proc.wait()
            self.store.update(jid, where="state='running' AND attempts=?", where_params=(r.attempt,),
                              state=JobState.CANCELLED, finished_at=time.time(), stage="cancelled",
                              error="cancelled by the user", peak_rss_bytes=r.peak_rss or None)
            self._clean(r.job)
            self.stats.finished["cancelled"] = self.stats.finished.get("cancelled", 0) + 1

    def _clean(self, job: Job) -> None:
        try:
            recovery.clean_outputs(spec_for(job.kind).output_dirs(job.args))
        except Exception:
            pass


def _shared_ready(key: str) -> bool:
    """Is a shared prerequisite already made? (``f16:PATH`` -> that cached F16 GGUF)."""
    if key.startswith("f16:"):
        return Path(key[4:]).is_file()
    return True


def run_worker(*, ram: str | int | None = None, cores: int | None = None, max_jobs: int | None = None,
               drain: bool = False, once: bool = False, poll_s: float = 0.02,
               idle_exit_s: float | None = None, store_path: Path | None = None) -> WorkerStats:
    budget = make_budget(ram, cores, max_jobs)
    return LocalWorker(budget, store_path=store_path, poll_s=poll_s, drain=drain, once=once,
                       idle_exit_s=idle_exit_s).run()


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.scheduler.worker`` (what ensure_worker starts)."""
    import argparse
    p = argparse.ArgumentParser(prog="python -m tools.scheduler.worker")
    p.add_argument("--ram-budget")
    p.add_argument("--cores", type=int)
    p.add_argument("--max-jobs", type=int)
    p.add_argument("--drain", action="store_true")
    p.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds")
    a = p.parse_args(argv)
    budget = make_budget(a.ram_budget, a.cores, a.max_jobs)
    w = LocalWorker(budget, drain=a.drain, idle_exit_s=a.idle_exit)
    w.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
