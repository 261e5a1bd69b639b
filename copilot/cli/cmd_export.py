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
    g.add_argument("--mlflow", metavar="URI", help="log every run to MLflow (sqlite:///mlflow.db, a file: store or "
                                                   "an http(s) tracking server; needs lqmf[mlflow])")
    p.add_argument("--experiment", default="lqmf", help="the MLflow experiment (default lqmf)")
    p.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys

    from lqmf.copilot.app.export import export
    from lqmf.tools.errors import short_path

    if args.mlflow is not None:
        from lqmf.copilot.app import mlflow_export

        res = mlflow_export.export(args.app, args.mlflow, experiment=args.experiment)
        print(f"logged {res.logged} runs to MLflow experiment {res.experiment} at {res.uri}"
              + (f" ({res.skipped} already there)" if res.skipped else ""), file=sys.stderr)
        return 0
    fmt = "csv" if args.csv is not None else "parquet"
    name = args.csv if args.csv is not None else args.parquet
    done = export(args.app, fmt, name, force=args.force, stream=sys.stdout if args.csv == "-" else None)
    if done.path is not None:
        print(f"wrote {done.runs} runs to {short_path(done.path)}", file=sys.stderr)
    return 0
