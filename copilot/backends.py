"""Thin adapters from the copilot to ``tools/`` (scheduler, query, store,
recommend). They only normalise shapes (objects or dicts) so the nodes see one
kind of row; every real decision stays in ``tools/``. Imported lazily."""
from __future__ import annotations

from typing import Any

FINAL = ("succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def job_row(job: Any) -> dict:
    """A scheduler job as a plain dict: id, kind, status, progress, stage, args, result, error."""
    status = _get(job, "state", None) or _get(job, "status", "")
    kind = _get(job, "kind", "")
    return {
        "id": str(_get(job, "id", "")),
        "kind": str(getattr(kind, "value", kind)),
        "status": str(getattr(status, "value", status)),
        "progress": _get(job, "progress"),
        "stage": _get(job, "stage", "") or "",
        "args": dict(_get(job, "args", {}) or {}),
        "result": _get(job, "result"),
        "error": _get(job, "error"),
        "depends_on": _get(job, "depends_on"),
    }


def scheduler():
    import lqmf.tools.scheduler as s

    return s


def dry_run() -> str:
    """"" normally; "noop" or "sleep:SECONDS" makes long tools submit that quick
    scheduler kind instead (evals, fast tests), keeping everything else real."""
    from lqmf.copilot.settings import load

    return load().dry_run


def submit(kind: str, args: dict, *, priority: str | None = None, depends_on: str | None = None) -> str:
    """Submit a job and make sure a local worker runs it; returns the job id."""
    s = scheduler()
    mode = dry_run()
    if mode.startswith("sleep"):
        kind, args = "sleep", {"seconds": float(mode.partition(":")[2] or 1)}
    elif mode:
        kind, args = "noop", {}
    kw: dict[str, Any] = {}
    if priority:
        kw["priority"] = priority
    if depends_on:
        kw["depends_on"] = depends_on
    job_id = str(s.submit(kind, args, **kw))
    from lqmf.copilot.settings import load

    if not load().no_worker:
        s.ensure_worker()
    return job_id


def get_job(job_id: str) -> dict | None:
    try:
        job = scheduler().get(job_id)
    except Exception:  # unknown id: the scheduler raises its own error
        return None
    return job_row(job) if job is not None else None


def list_jobs() -> list[dict]:
    return [job_row(j) for j in scheduler().list()]


def cancel_job(job_id: str) -> dict | None:
    scheduler().cancel(job_id)
    return get_job(job_id)


_STORE = None


def store():
    """The experiment store, opened once per process (Chroma when installed)."""
    global _STORE
    if _STORE is None:
        from lqmf.tools.store.experiments import default_store

        _STORE = default_store()
    return _STORE


def query(slots: dict, text: str | None = None) -> tuple[list[dict], str | None]:
    """Rows of past experiments matching the slots, and a note (what matched, or the
    nearest relaxation when nothing did)."""
    from lqmf.tools.store.query import from_slots

    q = from_slots(slots, text)
    st = store()
    if hasattr(st, "index"):
        from lqmf.tools.store.query_exec import run

        res = run(st, q)
        rows, note = [r.to_dict() for r in res.records], res.message()
    else:  # the plain JSONL store cannot filter: show the newest, and say so
        rows = [r.to_dict() for r in sorted(st.all(), key=lambda r: -r.created_at)][: q.limit or 20]
        note = "without Chroma (pip install 'lqmf[store]') I can only list the newest runs"
    return rows, (note[:1].upper() + note[1:] + ".") if note else None


def records() -> list[dict]:
    return [r.to_dict() for r in store().all()]
