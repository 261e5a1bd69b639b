"""Jobs: submit, list, show, cancel and retry work in the scheduler's queue,
and the typed view of one job that every front end shows."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lqmf.tools.status import Status
from lqmf.copilot.app.audit import audited

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


@dataclass
class JobView:
    """One job as the front ends show it. ``row()`` is its plain-dict form (the
    chat keeps it in its state); ``to_dict()`` the scheduler's full record."""

    id: str
    kind: str
    status: Status
    progress: float | None = None
    stage: str = ""
    args: dict = field(default_factory=dict)
    result: dict | None = None
    error: str | None = None
    depends_on: str | None = None
    job: Any = field(default=None, repr=False, compare=False)   # the scheduler's Job

    @classmethod
    def of(cls, job: Any) -> "JobView":
        return cls(id=str(job.id), kind=str(job.kind.value), status=Status(job.state.value),
                   progress=job.progress, stage=job.stage or "", args=dict(job.args or {}),
                   result=job.result, error=job.error, depends_on=job.depends_on, job=job)

    @property
    def done(self) -> bool:
        return self.status.done

    @property
    def what(self) -> str:
        """The job in a few words ("quantize smollm2 Q4_K_M")."""
        from lqmf.tools.scheduler.kinds import spec_for

        return spec_for(self.job.kind).describe(self.args) if self.job is not None else self.kind

    def row(self) -> dict:
        return {"id": self.id, "kind": self.kind, "status": self.status.value, "progress": self.progress,
                "stage": self.stage, "args": dict(self.args), "result": self.result, "error": self.error,
                "depends_on": self.depends_on}

    def to_dict(self) -> dict:
        return self.job.to_dict() if self.job is not None else self.row()


class JobQueue:
    """The scheduler's job queue. ``worker``: start a background local worker
    after a submit when none is alive (the default; a test may say no)."""

    def __init__(self, *, worker: bool = True):
        self.worker = worker

    def open(self):
        """The job store (SQLite); the caller closes it."""
        from lqmf.tools.scheduler import JobStore

        return JobStore()

    @contextlib.contextmanager
    def opened(self) -> Iterator[Any]:
        """The job store for a ``with`` block, closed after it."""
        store = self.open()
        try:
            yield store
        finally:
            store.close()

    def prepare(self, kind: str, args: dict) -> tuple[str, dict]:
        """The kind and arguments really queued (a test queue may stand in a quick kind)."""
        return kind, args

    def submit(self, kind: str, args: dict, *, priority: str | None = None, not_before: str | None = None,
               depends_on: str | None = None, batch: str | None = None) -> str:
        from lqmf.tools import scheduler

        kind, args = self.prepare(kind, args)
        kw: dict[str, Any] = {"depends_on": depends_on, "batch": batch}
        if priority:
            kw["priority"] = priority
        if not_before:
            kw["not_before"] = not_before
        return str(scheduler.submit(kind, {k: v for k, v in args.items() if v is not None}, **kw))

    def ensure_worker(self) -> None:
        if self.worker:
            from lqmf.tools import scheduler

            scheduler.ensure_worker()


def submit(app: "App", kind: str, jobs: list[dict], *, priority: str | None = None,
           not_before: str | None = None, depends_on: str | None = None) -> list[str]:
    """Queue one job per argument dict (all checked before the first is queued
    only as far as the scheduler checks each); make sure a worker runs them."""
    ids = [app.jobs.submit(kind, a, priority=priority, not_before=not_before, depends_on=depends_on)
           for a in jobs]
    app.jobs.ensure_worker()
    return ids


def check_not_before(when: str | None) -> None:
    """An unreadable or too-far ``--at`` time: one sentence now, before any work."""
    if when:
        from lqmf.tools.scheduler.timeparse import parse_not_before

        parse_not_before(when)


def get(app: "App", job_id: str) -> JobView | None:
    """One job, or None when there is no such job."""
    from lqmf.tools.errors import LqmfError

    try:
        return show(app, job_id)
    except LqmfError:  # no such job (or the id is ambiguous)
        return None


def show(app: "App", job_id: str) -> JobView:
    """One job (a unique id prefix is enough); an unknown id is an InvalidInput."""
    with app.jobs.opened() as store:
        return JobView.of(store.get(job_id))


@dataclass
class JobList:
    jobs: list[JobView]
    notice: str | None = None          # the job store's own notice (a salvaged database)
    requeued: list[str] = field(default_factory=list)   # jobs of a dead worker, queued again


def check_store(app: "App", *, recover: bool = False) -> JobList:
    """Open the job store: its notice (a damaged database set aside), and with
    ``recover`` the running jobs of a worker that died queued again (and a
    worker started for them), so no job shows "running" forever."""
    with app.jobs.opened() as store:
        requeued: list[str] = []
        if recover:
            from lqmf.tools.scheduler import recovery

            requeued = recovery.recover_orphans(store)
            if requeued:
                app.jobs.ensure_worker()
        return JobList([], store.notice, requeued)


def list_jobs(app: "App", states: list[str] | None = None, *, limit: int | None = None,
              newest_first: bool = False) -> list[JobView]:
    """Jobs, optionally only those in ``states``."""
    with app.jobs.opened() as store:
        wanted = [Status(s) for s in states] if states else None
        return [JobView.of(j) for j in store.list(wanted, limit=limit, newest_first=newest_first)]


@audited("jobs.cancel")
def cancel(app: "App", job_id: str) -> JobView:
    """Cancel a queued or running job (a finished one is an InvalidInput)."""
    from lqmf.tools import scheduler

    with app.jobs.opened() as store:
        return JobView.of(scheduler.cancel(job_id, store=store))


@audited("jobs.retry")
def retry(app: "App", job_id: str) -> JobView:
    """Queue a failed or cancelled job again."""
    from lqmf.tools import scheduler

    with app.jobs.opened() as store:
        return JobView.of(scheduler.retry(job_id, store=store))


@dataclass
class WorkerStats:
    started: int
    finished: dict[str, int]


def budget(ram: str | None, cores: int | None, max_jobs: int | None) -> str:
    """What a local worker may use, in words (checks the flags)."""
    from lqmf.tools.scheduler.resources import make_budget

    return make_budget(ram, cores, max_jobs).describe()


def run_worker(app: "App", *, ram: str | None = None, cores: int | None = None, max_jobs: int | None = None,
               drain: bool = False, once: bool = False, ray_address: str | None = None) -> WorkerStats:
    """Run queued jobs in this process (a local pool, or a Ray cluster) until stopped."""
    from lqmf.tools import scheduler

    stats = scheduler.run_worker(ram=ram, cores=cores, max_jobs=max_jobs, drain=drain, once=once,
                                 ray_address=ray_address)
    return WorkerStats(stats.started, dict(stats.finished))

