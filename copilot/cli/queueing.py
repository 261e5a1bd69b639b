"""`--queue` for long commands: submit jobs to the scheduler and return."""
from __future__ import annotations

import argparse


def add_queue_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queue", action="store_true", help="submit to the job queue and return (see `lqmf jobs`)")
    p.add_argument("--priority", default="normal", choices=["high", "normal", "low"])
    p.add_argument("--at", dest="not_before", metavar="WHEN",
                   help="with --queue: not before WHEN (tonight, 02:00, in 2 hours, ISO time)")


def submit_all(kind: str, jobs: list[dict], args: argparse.Namespace) -> int:
    """Submit one job per argument dict, make sure a local worker runs, print the ids."""
    from tools import scheduler

    from copilot.cli.output import console, print_json

    ids = [scheduler.submit(kind, {k: v for k, v in a.items() if v is not None}, priority=args.priority,
                            not_before=args.not_before) for a in jobs]
    scheduler.ensure_worker()
    if args.json:
        print_json({"queued": ids})
    else:
        console().print("queued: " + ", ".join(ids) + "  (follow them with `lqmf jobs`)")
    return 0
