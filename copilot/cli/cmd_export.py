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
    p.set_defaults(func=handle)


def rows(records) -> tuple[list[str], list[dict]]:
    """Flat rows: lists joined with commas, dicts as JSON."""
    from dataclasses import fields

    from tools.records import ExperimentRecord

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

    from tools.errors import MissingComponent
    from tools.fsutil import atomic_output
    from tools.records import default_store

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
    target = Path(args.csv or args.parquet).expanduser()
    with atomic_output(target) as tmp:
        if args.csv:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                _write_csv(f, names, data)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(data), tmp)
    print(f"wrote {len(records)} runs to {target}", file=sys.stderr)
    return 0


def _write_csv(f, names: list[str], data: list[dict]) -> None:
    import csv

    w = csv.DictWriter(f, fieldnames=names)
    w.writeheader()
    w.writerows(data)
