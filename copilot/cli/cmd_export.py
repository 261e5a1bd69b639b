"""`lqmf export --csv FILE` (or `--parquet FILE` when pyarrow is installed): every run."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export every run to CSV (or Parquet)",
                       description="Write every experiment record to a CSV file (one row per run), "
                                   "or Parquet when pyarrow is installed.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--csv", metavar="FILE", help="write CSV here ('-' for stdout)")
    g.add_argument("--parquet", metavar="FILE", help="write Parquet here (needs pyarrow)")
    p.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys

    from lqmf.copilot.app.export import export
    from lqmf.tools.errors import short_path

    fmt = "csv" if args.csv is not None else "parquet"
    name = args.csv if args.csv is not None else args.parquet
    done = export(args.app, fmt, name, force=args.force, stream=sys.stdout if args.csv == "-" else None)
    if done.path is not None:
        print(f"wrote {done.runs} runs to {short_path(done.path)}", file=sys.stderr)
    return 0
