"""The scheduler: every long tool call goes through it.

    submit(kind, args, priority="normal", not_before=None) -> job id
    get(id), list(states), cancel(id), retry(id)
    run_worker(...)      run a local worker in this process
    ensure_worker()      start a background local worker if none is alive

The job store (SQLite, WAL) is the source of truth; local workers and the
Ray executor both read their work from it and write outcomes back.
Importing this package is cheap (no engines, no Ray).
"""
from __future__ import annotations

import builtins
import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from lqmf.tools.config import sub_dir
from lqmf.tools.errors import ImpossibleJob, InvalidInput
from lqmf.tools.fsutil import human_bytes
from lqmf.tools.scheduler.jobs import Job, JobKind, JobState, Needs, Priority
from lqmf.tools.scheduler.store import JobStore

__all__ = ["submit", "get", "list", "cancel", "retry", "run_worker", "ensure_worker", "Job", "JobKind",
           "JobState", "Priority", "Needs", "JobStore"]


def submit(kind: JobKind | str, args: dict | None = None, priority: str | int | Priority = "normal",
           not_before: "str | float | None" = None, *, max_attempts: int = 3, batch: str | None = None,
           depends_on: str | None = None, store: JobStore | None = None, check_machine: bool = True) -> str:
    """Check the arguments and the machine, queue the job, return its id.
    Bad arguments and impossible jobs raise one clear LqmfError; nothing is queued."""
    from lqmf.tools.scheduler.kinds import spec_for
    from lqmf.tools.scheduler.resources import total_ram
    from lqmf.tools.scheduler.timeparse import parse_not_before

    spec = spec_for(kind)
    clean = spec.validate(dict(args or {}))
    needs = spec.needs(clean)
    if check_machine and needs.ram_bytes > (total := total_ram()):
        raise ImpossibleJob(
            f"{spec.describe(clean)} needs about {human_bytes(needs.ram_bytes)} of RAM "
            f"({needs.basis}) but this machine has {human_bytes(total)}",
            "pick a smaller model or a lighter method, or run it on a Ray cluster (`lqmf worker --ray ADDRESS`)")
    if not 1 <= int(max_attempts) <= 100:
        raise InvalidInput(f"max_attempts {max_attempts} is out of range", "give 1 to 100")
    job = Job(kind=spec.kind, args=clean, priority=Priority.parse(priority), needs=needs,
              max_attempts=int(max_attempts), batch=batch, depends_on=depends_on,
              shared_key=spec.shared_key(clean), not_before=parse_not_before(not_before))
    own = store is None
    store = store or JobStore()
    try:
        store.add(job)
    finally:
        if own:
            store.close()
    return job.id


def _with_store(fn):
    def wrapper(*a, store: JobStore | None = None, **kw):
        own = store is None
        store = store or JobStore()
        try:
            return fn(*a, store=store, **kw)
        finally:
            if own:
                store.close()
    wrapper.__doc__, wrapper.__name__ = fn.__doc__, fn.__name__
    return wrapper


@_with_store
def get(job_id: str, *, store: JobStore) -> Job:
    return store.get(job_id)


@_with_store
def list(states: "builtins.list[JobState | str] | None" = None, *, batch: str | None = None,
         limit: int | None = None, store: JobStore) -> "builtins.list[Job]":
    wanted = [JobState(s) for s in states] if states else None
    return store.list(wanted, batch=batch, limit=limit)


@_with_store
def cancel(job_id: str, *, wait_s: float = 10.0, store: JobStore) -> Job:
    """Cancel a queued job at once; a running one is killed by its worker (or
    here, when its worker is gone) and its partial files are removed."""
    from lqmf.tools.scheduler import recovery
    from lqmf.tools.scheduler.kinds import spec_for

    job = store.get(job_id)
    if job.state.done:
        raise InvalidInput(f"job {job.id} already {job.state.value}", "nothing to cancel")
    store.update(job.id, cancel_requested=True)
    if store.update(job.id, where="state='queued'", state=JobState.CANCELLED, finished_at=time.time(),
                    stage="cancelled", error="cancelled by the user"):
        return store.get(job.id)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        job = store.get(job.id)
        if job.state.done:
            return job
        if job.worker and job.worker in recovery.dead_workers(store) | _unknown(store, job.worker):
            break
        time.sleep(0.05)
    # the worker did not act (gone, or stuck): do it here
    job = store.get(job.id)
    if job.state is JobState.RUNNING:
        killed = None
        if job.worker and job.worker.startswith(socket.gethostname() + ":") and \
                recovery.is_job_process(job.pid, job):
            recovery.kill_tree(job.pid)
            _wait_gone(job.pid)
            killed = job.pid
        store.update(job.id, where="state='running'", state=JobState.CANCELLED, finished_at=time.time(),
                     stage="cancelled", error="cancelled by the user")
        recovery.clean_outputs(spec_for(job.kind).output_dirs(job.args), killed=killed)
    return store.get(job.id)


def _unknown(store: JobStore, worker_id: str) -> set[str]:
    return set() if any(w["id"] == worker_id for w in store.workers()) else {worker_id}


def _wait_gone(pid: int | None, timeout: float = 5.0) -> None:
    from lqmf.tools.scheduler.recovery import pid_alive
    end = time.monotonic() + timeout
    while pid and pid_alive(pid) and time.monotonic() < end:
        time.sleep(0.02)


@_with_store
def retry(job_id: str, *, store: JobStore) -> Job:
    """Queue a failed or cancelled job again, with fresh attempts."""
    job = store.get(job_id)
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise InvalidInput(f"job {job.id} is {job.state.value}", "only failed or cancelled jobs can be retried")
    store.update(job.id, where="state IN ('failed','cancelled')", state=JobState.QUEUED, attempts=0,
                 error=None, result=None, cancel_requested=False, not_before=None, note=None,
                 worker=None, pid=None, progress=None, stage="queued again", started_at=None,
                 finished_at=None)
    return store.get(job.id)


def run_worker(*, ram: str | int | None = None, cores: int | None = None, max_jobs: int | None = None,
               drain: bool = False, once: bool = False, ray_address: str | None = None, **kw):
    """Run a worker in this process until stopped (or drained)."""
    if ray_address is not None:
        from lqmf.tools.scheduler.ray_executor import RayExecutor
        return RayExecutor(ray_address, max_jobs=max_jobs, drain=drain).run()
    from lqmf.tools.scheduler.worker import run_worker as _run
    return _run(ram=ram, cores=cores, max_jobs=max_jobs, drain=drain, once=once, **kw)


def alive_workers(store: JobStore) -> "builtins.list[dict]":
    from lqmf.tools.scheduler.recovery import dead_workers
    dead = dead_workers(store)
    return [w for w in store.workers() if w["id"] not in dead]


def ensure_worker(*, idle_exit_s: float = 900, wait_s: float = 10.0, extra_args=()) -> str:
    """The id of a live worker, starting a background one if none is alive."""
    lock_path = sub_dir("jobs") / "ensure_worker.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = JobStore()
        try:
            if live := alive_workers(store):
                return live[0]["id"]
            log = open(sub_dir("jobs", "logs") / "worker.log", "ab")
            code_root = str(Path(__file__).resolve().parents[1].parent)
            proc = subprocess.Popen([sys.executable, "-m", "lqmf.tools.scheduler.worker", "--idle-exit",
                                     str(idle_exit_s), *extra_args], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=code_root, start_new_session=True,
                                    env=dict(os.environ))
            log.close()
            end = time.monotonic() + wait_s
            while time.monotonic() < end:
                for w in store.workers():
                    if w["pid"] == proc.pid:
                        return w["id"]
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
            raise InvalidInput("the background worker did not start",
                               f"see {sub_dir('jobs', 'logs') / 'worker.log'} or run `lqmf worker` yourself")
        finally:
            store.close()
