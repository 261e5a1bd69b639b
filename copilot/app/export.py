"""Export: every experiment record to CSV or Parquet, written atomically."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lqmf.tools.errors import InvalidInput, MissingComponent
from lqmf.copilot.app.audit import audited

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


@dataclass
class Exported:
    runs: int
    path: Path | None        # None: written to a stream


def rows(records: list[Any]) -> tuple[list[str], list[dict]]:
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


@audited("export.file")
def export(app: "App", fmt: str, name: str, *, force: bool = False, stream: IO[str] | None = None) -> Exported:
    """Write every run to ``name`` as "csv" or "parquet"; ``stream`` instead of a file for CSV."""
    from lqmf.tools.fsutil import atomic_output, check_output

    flag = f"--{fmt}"
    if stream is None and not name.strip():
        raise InvalidInput(f"{flag} needs a file name", f"e.g. {flag} runs.{fmt}")
    target = None if stream is not None else Path(name).expanduser()
    if target is not None:  # refuse a folder, a device or someone's file before any work
        check_output(target, replace_file=force)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise MissingComponent("Parquet export needs pyarrow, which is not installed",
                                   "pip install pyarrow, or use --csv") from None
    records = sorted(app.store().all(), key=lambda r: r.created_at)
    names, data = rows(records)
    if stream is not None:
        _write_csv(stream, names, data)
        return Exported(len(records), None)
    assert target is not None
    with atomic_output(target, replace_file=force) as tmp:
        if fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                _write_csv(f, names, data)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(data), tmp)
    return Exported(len(records), target)


def _write_csv(f, names: list[str], data: list[dict]) -> None:
    import csv

    w = csv.DictWriter(f, fieldnames=names)
    w.writeheader()
    w.writerows(data)
