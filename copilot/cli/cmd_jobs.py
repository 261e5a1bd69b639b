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


def _requeue_orphans(store) -> None:
    """Running jobs of a worker that died (kill -9, a crash) are queued again
    now, and a worker is started for them: no job shows "running" forever."""
    from lqmf.tools import scheduler
    from lqmf.tools.scheduler import recovery

    requeued = recovery.recover_orphans(store)
    if requeued:
        print(f"warning: {len(requeued)} job{'s' if len(requeued) != 1 else ''} of a worker that died "
              f"{'were' if len(requeued) != 1 else 'was'} queued again ({', '.join(requeued)}).", file=sys.stderr)
        scheduler.ensure_worker()


def handle(args) -> int:
    from lqmf.copilot.cli.output import console, print_json
    from lqmf.tools import scheduler
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.scheduler.jobs import JobState

    store = scheduler.JobStore()
    try:
        if store.notice:
            print(f"warning: {store.notice}", file=sys.stderr)
        if args.action in ("list", "show"):
            _requeue_orphans(store)
        if args.action != "list" and not args.id:
            raise InvalidInput(f"`lqmf jobs {args.action}` needs a job id", "see `lqmf jobs` for the ids")
        if args.action == "list":
            states = [JobState(s) for s in args.state] if args.state else None
            jobs = store.list(states, limit=None if args.all else 50, newest_first=True)
            if args.json:
                print_json([j.to_dict() for j in jobs])
                return 0
            from rich.table import Table
            from lqmf.tools.scheduler.kinds import spec_for
            t = Table(title=f"{len(jobs)} jobs" + ("" if args.all else " (newest 50; --all for every one)"))
            for col in ("id", "kind", "what", "priority", "state", "progress", "when", "note / error"):
                t.add_column(col)
            for j in jobs:
                when = _age(j.not_before) if j.state is JobState.QUEUED and j.not_before else \
                    _age(j.finished_at or j.started_at or j.created_at)
                t.add_row(j.id, j.kind.value, spec_for(j.kind).describe(j.args), j.priority.name.lower(),
                          j.state.value, _progress(j) if j.state is JobState.RUNNING else "",
                          when, (j.error or j.note or "")[:80])
            console().print(t)
            return 0
        if args.action == "show":
            job = store.get(args.id)
        elif args.action == "cancel":
            job = scheduler.cancel(args.id, store=store)
        else:
            job = scheduler.retry(args.id, store=store)
        if args.json:
            print_json(job.to_dict())
            return 0
        if args.action == "show":
            from lqmf.tools.fsutil import human_bytes
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
            print(f"job {job.id} is {job.state.value}")
        return 0
    finally:
        store.close()
