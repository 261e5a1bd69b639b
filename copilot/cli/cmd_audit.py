"""`lqmf audit`: the audit log of every mutating call (API, CLI, chat), read only."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="show the audit log (who did what, when, the result)",
                       description="The append-only audit log of every mutating call from the API, the CLI and the "
                                   "chat. `--verify` checks that no line was edited or removed.")
    p.add_argument("--limit", type=int, default=50, help="the newest N entries (default 50; 0 for all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--verify", action="store_true", help="check the hash chain; exit 1 when it is broken")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import time
    from dataclasses import asdict

    from lqmf.copilot.app import audit
    from lqmf.copilot.cli.output import print_json

    if args.verify:
        problems = audit.verify()
        for p in problems:
            print(p)
        if not problems:
            print(f"the audit log is intact ({len(audit.entries())} entries)")
        return 1 if problems else 0
    entries = audit.entries(args.limit or None)
    if args.json:
        print_json([asdict(e) for e in entries])
        return 0
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        print(f"{when}  {e.actor}@{e.via}  {e.action}  {e.target}  -> {e.result}")
    return 0
