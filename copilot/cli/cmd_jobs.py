"""`lqmf jobs`: list, show, cancel and retry queued work (`--json` for scripts)."""
from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list, show, cancel or retry scheduled jobs",
                       description="The job queue: `lqmf jobs`, `lqmf jobs show ID`, "
                                   "`lqmf jobs cancel ID`, `lqmf jobs retry ID`.")
    p.add_argument("action", nargs="?", default="list", choices=["list", "show", "cancel", "retry"])
    p.add_argument("id", nargs="?", help="a job id (a unique prefix is enough)")
    p.add_argument("--state", action="append", help="only jobs in this state (repeatable)",
                   choices=["queued", "running", "succeeded", "failed", "cancelled"])
    p.add_argument("--all", action="store_true", help="list every job, not just the last 50")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=handle)


def _age(t: float | None) -> str:
    if not t:
        return ""
    d = t - time.time()
    s = abs(d)
    txt = f"{s:.0f}s" if s < 90 else f"{s / 60:.0f}m" if s < 5400 else f"{s / 3600:.1f}h"
    return f"in {txt}" if d > 0 else f"{txt} ago"


def _progress(job) -> str:
    if job.progress is None:
        return job.stage or ""
    return f"{job.progress * 100:.0f}% {job.stage}".strip()


def handle(args) -> int:
    from lqmf.copilot.app import jobs as app_jobs
    from lqmf.copilot.app.types import Status, human_bytes
    from lqmf.copilot.cli.output import console, print_json
    from lqmf.tools.errors import InvalidInput

    _warn(app_jobs.check_store(args.app, recover=args.action in ("list", "show")))
    if args.action != "list" and not args.id:
        raise InvalidInput(f"`lqmf jobs {args.action}` needs a job id", "see `lqmf jobs` for the ids")
    if args.action == "list":
        jobs = app_jobs.list_jobs(args.app, args.state, limit=None if args.all else 50, newest_first=True)
        if args.json:
            print_json([j.to_dict() for j in jobs])
            return 0
        from rich.table import Table
        t = Table(title=f"{len(jobs)} jobs" + ("" if args.all else " (newest 50; --all for every one)"))
        for col in ("id", "kind", "what", "priority", "state", "progress", "when", "note / error"):
            t.add_column(col)
        for v in jobs:
            j = v.job
            when = _age(j.not_before) if v.status is Status.QUEUED and j.not_before else \
                _age(j.finished_at or j.started_at or j.created_at)
            t.add_row(v.id, v.kind, v.what, j.priority.name.lower(), v.status.value,
                      _progress(j) if v.status is Status.RUNNING else "", when, (j.error or j.note or "")[:80])
        console().print(t)
        return 0
    if args.action == "show":
        view = app_jobs.show(args.app, args.id)
    elif args.action == "cancel":
        view = app_jobs.cancel(args.app, args.id)
    else:
        view = app_jobs.retry(args.app, args.id)
    if args.json:
        print_json(view.to_dict())
        return 0
    if args.action == "show":
        job = view.job
        c = console()
        d = job.to_dict()
        for k in ("id", "kind", "state", "priority", "args", "attempts", "max_attempts", "worker",
                  "stage", "progress", "error", "note", "batch", "depends_on"):
            if d.get(k) not in (None, "", {}):
                c.print(f"{k:>13}: {d[k]}")
        c.print(f"{'needs':>13}: {human_bytes(job.needs.ram_bytes)} RAM, {job.needs.cpus} core(s)"
                + (f" ({job.needs.basis})" if job.needs.basis else ""))
        if job.peak_rss_bytes:
            c.print(f"{'peak RSS':>13}: {human_bytes(job.peak_rss_bytes)}")
        for k in ("created_at", "not_before", "started_at", "finished_at"):
            if d.get(k):
                c.print(f"{k:>13}: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(d[k]))}")
        if job.result:
            c.print(f"{'result':>13}: { {k: v for k, v in job.result.items() if k != 'record'} }")
    else:
        print(f"job {view.id} is {view.status.value}")
    return 0


def _warn(found) -> None:
    """The job store's notice, and the jobs of a dead worker queued again: on stderr."""
    if found.notice:
        print(f"warning: {found.notice}", file=sys.stderr)
    n = len(found.requeued)
    if n:
        print(f"warning: {n} job{'s' if n != 1 else ''} of a worker that died "
              f"{'were' if n != 1 else 'was'} queued again ({', '.join(found.requeued)}).", file=sys.stderr)
