"""`--queue` for long commands: submit jobs to the scheduler and return."""
from __future__ import annotations

import argparse


def add_queue_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queue", action="store_true", help="submit to the job queue and return (see `lqmf jobs`)")
    p.add_argument("--priority", default="normal", choices=["high", "normal", "low"])
    p.add_argument("--at", dest="not_before", metavar="WHEN",
                   help="with --queue: not before WHEN (tonight, 02:00, in 2 hours, ISO time)")
    p.add_argument("--notify", action="store_true",
                   help="ring the terminal bell and send a desktop notification when it ends (with --queue: "
                        "wait for the queued jobs)")


def check_queue_flags(args: argparse.Namespace) -> None:
    """``--at`` only means something with ``--queue``: refuse it alone, before any work."""
    from lqmf.tools.errors import InvalidInput

    if getattr(args, "not_before", None) and not getattr(args, "queue", False):
        raise InvalidInput("--at only works with --queue (a run without --queue starts now)",
                           f"add --queue, e.g. --queue --at {args.not_before!r}")
    if getattr(args, "queue", False) and getattr(args, "not_before", None):
        from lqmf.copilot.app.jobs import check_not_before

        check_not_before(args.not_before)  # an unreadable or too-far time: one sentence now


def print_queued(ids: list[str], args: argparse.Namespace) -> int:
    """Print the ids of the jobs just queued."""
    from lqmf.copilot.cli.output import console, print_json

    args.queued_ids = ids   # --notify waits for these
    if args.json:
        print_json({"queued": ids})
    else:
        console().print("queued: " + ", ".join(ids) + "  (follow them with `lqmf jobs`)")
    return 0
