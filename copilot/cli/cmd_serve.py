"""`lqmf serve`: the REST API and the live dashboard (127.0.0.1:8765 by default)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the REST API and the live dashboard",
                       description="Serve the REST API (OpenAPI docs at /docs) and the dashboard on the same data "
                                   "dir. Off loopback it needs API tokens (`lqmf token add`).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys

    from lqmf.copilot.server.main import check_bind, run

    check_bind(args.host)
    print(f"LQMF serving on http://{args.host}:{args.port}/ (API docs at /docs); Ctrl-C stops it", file=sys.stderr)
    run(args.host, args.port, app=args.app, log_level=args.log_level)
    return 0
