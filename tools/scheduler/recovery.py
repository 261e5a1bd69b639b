"""Crash recovery: a job whose process or worker died is retried with bounded
attempts and growing backoff, or failed with the reason; never left running."""
from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from lqmf.tools.fsutil import clean_stale_partials
from lqmf.tools.scheduler.jobs import Job, JobState
from lqmf.tools.scheduler.store import JobStore
from lqmf.tools.settings import get

BACKOFF_S = float(get("scheduler.retry_backoff_s"))
STALE_S = float(get("scheduler.worker_stale_s"))


def backoff_s(attempts: int) -> float:
    return min(600.0, BACKOFF_S * 2 ** max(0, attempts - 1))


def requeue_or_fail(store: JobStore, job: Job, reason: str) -> JobState:
    """The current attempt of a running job died: queue it again after a
    backoff, or fail it when its attempts are used up (or cancel it when a
    cancel was asked)."""
    where, wp = "state = 'running' AND attempts = ?", (job.attempts,)
    if job.cancel_requested:
        store.update(job.id, where=where, where_params=wp, state=JobState.CANCELLED,
                     finished_at=time.time(), stage="cancelled", error="cancelled by the user")
        return JobState.CANCELLED
    if job.attempts >= job.max_attempts:
        store.update(job.id, where=where, where_params=wp, state=JobState.FAILED, finished_at=time.time(),
                     stage="failed",
                     error=f"{reason}; gave up after {job.attempts} attempts (see `lqmf jobs retry {job.id}`)")
        return JobState.FAILED
    store.update(job.id, where=where, where_params=wp, state=JobState.QUEUED, worker=None, pid=None,
                 not_before=time.time() + backoff_s(job.attempts), stage="waiting to retry",
                 note=f"attempt {job.attempts} died: {reason}", progress=None)
    return JobState.QUEUED


def pid_alive(pid: int | None, start: float | None = None) -> bool:
    if not pid:
        return False
    try:
        import psutil
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        return start is None or abs(p.create_time() - start) < 1.0
    except Exception:
        return False


def worker_pid(worker_id: str | None) -> int | None:
    """The process id in a local worker's id (``host:pid:tag``)."""
    parts = (worker_id or "").split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def is_job_process(pid: int | None, job: Job) -> bool:
    """True when ``pid`` is still the process running ``job`` (not a reused pid).

    An exec-launched job names its id on its command line; a forked one has
    its worker's command line, so it is known by its parent (the job's worker,
    on this host) and by being started no earlier than the job was."""
    try:
        import psutil
        if not pid_alive(pid):
            return False
        proc = psutil.Process(pid)
        if job.id in " ".join(proc.cmdline()):
            return True
        return (worker_pid(job.worker) == proc.ppid() and job.started_at is not None
                and proc.create_time() >= job.started_at - 1.0)
    except Exception:
        return False


def kill_tree(pid: int | None) -> None:
    """SIGKILL a job process and everything it started (its own session)."""
    if not pid:
        return
    try:
        import psutil
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except Exception:
        procs = []
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for p in procs:
        try:
            p.kill()
        except Exception:
            pass


def clean_outputs(dirs: list[Path], killed: int | None = None) -> list[Path]:
    """Remove partial outputs of dead processes in ``dirs``, and those of
    ``killed`` (a job process we just killed, perhaps not yet reaped)."""
    import shutil
    removed: list[Path] = []
    for d in dirs:
        d = Path(d)
        removed += clean_stale_partials(d)
        if killed and d.is_dir():
            for p in d.glob(f".*.partial-{killed}"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def dead_workers(store: JobStore, now: float | None = None, stale_s: float = STALE_S) -> set[str]:
    """Worker ids whose process is gone (same host) or whose heartbeat stopped."""
    now = now or time.time()
    host = socket.gethostname()
    dead = set()
    for w in store.workers():
        if (w["host"] == host and not pid_alive(w["pid"], w["pid_start"])) or now - w["heartbeat_at"] > stale_s:
            dead.add(w["id"])
    return dead


def recover_orphans(store: JobStore, own: set[str] | None = None, stale_s: float = STALE_S) -> list[str]:
    """Requeue running jobs whose worker is dead or unknown. Returns their ids."""
    from lqmf.tools.scheduler.kinds import spec_for

    own = own or set()
    known = {w["id"] for w in store.workers()}
    dead = dead_workers(store, stale_s=stale_s)
    host = socket.gethostname()
    touched = []
    for job in store.list([JobState.RUNNING]):
        if job.worker in own:
            continue
        if job.worker in known and job.worker not in dead:
            continue
        if job.worker and job.worker.startswith(host + ":") and is_job_process(job.pid, job):
            kill_tree(job.pid)  # should already have died with its worker
        requeue_or_fail(store, job, "its worker stopped")
        try:
            clean_outputs(spec_for(job.kind).output_dirs(job.args))
        except Exception:
            pass
        touched.append(job.id)
    for wid in dead:
        store.unregister_worker(wid)
    return touched
