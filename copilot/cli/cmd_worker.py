"""`lqmf worker`: run queued jobs here (a local pool) or on a Ray cluster."""
from __future__ import annotations

import argparse

from lqmf.copilot.cli.args import number
from lqmf.copilot.app.types import Knob


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run queued jobs (local pool, or a Ray cluster with --ray)",
                       description="Run jobs from the queue until stopped (Ctrl-C). Running jobs that are "
                                   "interrupted are queued again.")
    p.add_argument("--max-jobs", type=number(Knob.MAX_JOBS), help="jobs at once (default: the cores budget)")
    p.add_argument("--ram-budget", help="RAM the jobs may use: a share (75%%) or a size (8G); default 75%%")
    p.add_argument("--cores", type=number(Knob.CORES), help="cores the jobs may use (default: all)")
    p.add_argument("--once", action="store_true", help="run one job, then exit")
    p.add_argument("--drain", action="store_true", help="exit when the queue is empty")
    p.add_argument("--ray", metavar="ADDRESS", nargs="?", const="",
                   help="run jobs on the Ray cluster at ADDRESS (default: $LQMF_RAY_ADDRESS)")
    p.add_argument("--json", action="store_true", help="print the final counts as JSON")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from lqmf.copilot.app import jobs
    from lqmf.copilot.cli.output import print_json

    if args.ray is None:
        budget = jobs.budget(args.ram_budget, args.cores, args.max_jobs)
        if not args.json:
            print(f"worker: using at most {budget}; Ctrl-C stops it", flush=True)
    stats = jobs.run_worker(args.app, ram=args.ram_budget, cores=args.cores, max_jobs=args.max_jobs,
                            drain=args.drain, once=args.once, ray_address=args.ray)
    counts = {"started": stats.started, **stats.finished}
    if args.json:
        print_json(counts)
    else:
        print("worker stopped: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0
