"""`lqmf export --csv FILE` (or `--parquet FILE` when pyarrow is installed): every run."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export every run to CSV (or Parquet)",
                       description="Write every experiment record to a CSV file (one row per run), "
                                   "or Parquet when pyarrow is installed.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--csv", metavar="FILE", help="write CSV here ('-' for stdout)")
    g.add_argument("--parquet", metavar="FILE", help="write Parquet here (needs pyarrow)")
    p.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    p.set_defaults(func=handle)


def rows(records) -> tuple[list[str], list[dict]]:
    """Flat rows: lists joined with commas, dicts as JSON."""
    from dataclasses import fields

    from lqmf.tools.store.records import ExperimentRecord

    names = [f.name for f in fields(ExperimentRecord)]
    out = []
    for r in records:
        d = r.to_dict()
        d["tasks"] = ",".join(d["tasks"])
        d["tool_versions"] = json.dumps(d["tool_versions"], sort_keys=True)
        out.append(d)
    return names, out


def handle(args: argparse.Namespace) -> int:
    import sys

    from lqmf.tools.errors import InvalidInput, MissingComponent, short_path
    from lqmf.tools.fsutil import atomic_output, check_output
    from lqmf.tools.store.experiments import default_store

    flag = "--csv" if args.csv is not None else "--parquet"
    name = args.csv if args.csv is not None else args.parquet
    if not name.strip():
        raise InvalidInput(f"{flag} needs a file name", f"e.g. {flag} runs.{flag[2:]}")
    target = None if args.csv == "-" else Path(name).expanduser()
    if target is not None:  # refuse a folder, a device or someone's file before any work
        check_output(target, replace_file=args.force)
    if args.parquet:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise MissingComponent("Parquet export needs pyarrow, which is not installed",
                                   "pip install pyarrow, or use --csv") from None
    records = sorted(default_store().all(), key=lambda r: r.created_at)
    names, data = rows(records)
    if args.csv == "-":
        _write_csv(sys.stdout, names, data)
        return 0
    with atomic_output(target, replace_file=args.force) as tmp:
        if args.csv:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                _write_csv(f, names, data)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(data), tmp)
    print(f"wrote {len(records)} runs to {short_path(target)}", file=sys.stderr)
    return 0


def _write_csv(f, names: list[str], data: list[dict]) -> None:
    import csv

    w = csv.DictWriter(f, fieldnames=names)
    w.writeheader()
    w.writerows(data)
