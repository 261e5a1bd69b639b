"""The process one job runs in: ``python -m tools.scheduler.run_job ID ATTEMPT``.

It streams progress into the job store and writes the outcome itself, only
if its attempt is still the current one (so a job never completes twice).
A crash (kill -9, out of memory) writes nothing; the worker sees the process
gone and retries the job.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import traceback

from lqmf.tools.errors import LqmfError, from_backend
from lqmf.tools.scheduler.jobs import JobState
from lqmf.tools.scheduler.kinds import spec_for
from lqmf.tools.scheduler.store import JobStore


def die_with_parent() -> None:
    """Linux: get SIGKILL when the worker that started us dies, so a killed
    worker never leaves a job running unseen (its job is retried instead)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    want = os.environ.get("LQMF_WORKER_PID")
    if want and want.isdigit() and os.getppid() != int(want):
        os._exit(3)  # the worker died before we set the signal


def resolve_refs(args: dict, store: JobStore) -> dict:
    """``{"from_job": ID}`` in an argument -> that job's artifact."""
    out = dict(args)
    for k, v in args.items():
        if isinstance(v, dict) and "from_job" in v:
            dep = store.get(v["from_job"])
            artifact = (dep.result or {}).get("artifact")
            if dep.state is not JobState.SUCCEEDED or not artifact:
                raise LqmfError(f"job {dep.id} that this job uses did not produce an artifact",
                                f"see `lqmf jobs show {dep.id}`")
            out[k] = artifact
    return out


class StoreProgress:
    """Progress callback that writes to the job row, at most every 0.2 s
    unless the stage changes."""

    def __init__(self, store: JobStore, job_id: str, attempt: int, every_s: float = 0.2):
        self.store, self.job_id, self.attempt, self.every_s = store, job_id, attempt, every_s
        self.last_t = 0.0
        self.last_stage: str | None = None

    def __call__(self, stage: str, fraction: float | None = None) -> None:
        now = time.monotonic()
        if stage == self.last_stage and now - self.last_t < self.every_s:
            return
        self.last_t, self.last_stage = now, stage
        self.store.update(self.job_id, where="state = 'running' AND attempts = ?",
                          where_params=(self.attempt,), stage=str(stage)[:200],
                          progress=None if fraction is None else float(max(0.0, min(1.0, fraction))))


def run(job_id: str, attempt: int) -> int:
    store = JobStore(check=False)
    job = store.get(job_id)
    if job.state is not JobState.RUNNING or job.attempts != attempt:
        return 3  # claimed by someone else, or cancelled before we started
    store.update(job_id, where="attempts = ?", where_params=(attempt,), pid=os.getpid(), stage="running")
    spec = spec_for(job.kind)
    try:
        result = spec.run(resolve_refs(job.args, store), StoreProgress(store, job_id, attempt))
    except LqmfError as e:
        store.finish(job_id, attempt, JobState.FAILED, error=str(e))
        return 1
    except Exception as e:  # a backend bug: one sentence to the user, the trace to the log
        traceback.print_exc()
        store.finish(job_id, attempt, JobState.FAILED, error=str(from_backend(e, f"the {job.kind} job")))
        return 1
    store.finish(job_id, attempt, JobState.SUCCEEDED, result=result)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    die_with_parent()
    return run(argv[0], int(argv[1]))


if __name__ == "__main__":
    sys.exit(main())
