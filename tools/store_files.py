"""Small files beside the experiment store: the JSON-lines journal reader, the
known-models list the parser reads, and a SQLite header check."""
from __future__ import annotations

import json
import os
from pathlib import Path

from lqmf.tools.records import BadRecord, ExperimentRecord, parse_line, reject_line, split_lines


def read_journal(path: Path, offset: int) -> tuple[list[ExperimentRecord], int]:
    """Complete lines from ``offset``; a torn last line is left for later (the
    next append terminates it first). A complete bad line is skipped with one
    warning and kept in records.rejected.jsonl."""
    records = []
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = offset
    for line in split_lines(data):
        if not line.endswith(b"\n"):
            break
        start, end = end, end + len(line)
        if not line.strip():
            continue
        try:
            records.append(parse_line(line))
        except BadRecord as e:
            reject_line(path, _line_number(path, start), line, str(e))
    return records, end


def _line_number(path: Path, pos: int) -> int:
    """The 1-based line number of byte ``pos`` (only computed for a bad line)."""
    with open(path, "rb") as f:
        return f.read(pos).count(b"\n") + 1


def read_known(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [str(x) for x in data] if isinstance(data, list) else []
    except (OSError, json.JSONDecodeError):
        return []


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=0), encoding="utf-8")
    os.replace(tmp, path)


def looks_like_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head == b"SQLite format 3\x00" or head == b""
