"""The JSON-lines journal: one record per line in data_dir()/records.jsonl.

Engines append here (fsync'd, under a lock) whatever happens to a run; the
experiment store imports what it has not seen. A bad line (torn by a killed
writer, not JSON, not a record) is skipped with one warning and copied to
``records.rejected.jsonl`` so nothing is lost.
"""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Iterable

from lqmf.tools.config import data_dir
from lqmf.tools.store.records import BadRecord, ExperimentRecord, parse_line

REJECTED_SUFFIX = ".rejected.jsonl"
_warned: set[tuple[str, int]] = set()


def rejected_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name.removesuffix(".jsonl") + REJECTED_SUFFIX)


def reject_line(journal_path: Path, lineno: int, raw: bytes | str, reason: str, keep: bool = True) -> None:
    """Warn once (per process) that line ``lineno`` was skipped, and copy it,
    once, into ``records.rejected.jsonl`` beside the journal so nothing is lost
    (``keep=False`` for a torn last line another run may still be writing)."""
    import hashlib
    import sys

    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\n")
    key = (str(journal_path), lineno)
    aside = rejected_path(journal_path)
    if key not in _warned:
        _warned.add(key)
        where = f"{journal_path} line {lineno}"
        kept = f"; a copy is kept in {aside.name}" if keep else ""
        print(f"warning: skipped {where}: it is not a valid run record ({reason}){kept}.", file=sys.stderr)
    if not keep:
        return
    digest = hashlib.sha256(f"{lineno}|{text}".encode()).hexdigest()[:16]
    entry = json.dumps({"line": lineno, "sha": digest, "reason": reason, "text": text}) + "\n"
    try:
        with open(aside, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            if f'"sha": "{digest}"' in f.read():
                return
            f.write(entry)
    except OSError:
        pass  # a read-only data dir: the warning above still names the line




class JsonlStore:
    """Append-only JSON lines. A bad line (torn by a killed writer, not JSON,
    not a record) is skipped with one warning and copied aside."""

    def __init__(self, path: Path | None = None):
        self.path = path or data_dir() / "records.jsonl"

    def add(self, record: ExperimentRecord) -> None:
        """Append one line; when the file ends in a torn line (a killed writer,
        a full disk) a newline goes first so this record starts on its own line."""
        line = (json.dumps(record.to_dict(), default=str) + "\n").encode("utf-8")
        with open(self.path, "ab") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(fresh_line_prefix(self.path) + line)
            f.flush()
            os.fsync(f.fileno())

    def all(self) -> list[ExperimentRecord]:
        return list(self._iter())

    def _iter(self) -> Iterable[ExperimentRecord]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            data = f.read()
        for n, line in enumerate(split_lines(data), 1):
            if not line.strip():
                continue
            try:
                yield parse_line(line)
            except BadRecord as e:
                torn = not line.endswith(b"\n")
                reject_line(self.path, n, line, "an unfinished last line" if torn else str(e), keep=not torn)


def split_lines(data: bytes) -> list[bytes]:
    """Lines split on b"\\n" only, each keeping it; a torn last line has none."""
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def fresh_line_prefix(path: Path) -> bytes:
    """b"\\n" when ``path`` ends without one (a torn line), else b""."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return b""
            f.seek(-1, os.SEEK_END)
            return b"" if f.read(1) == b"\n" else b"\n"
    except OSError:
        return b""


def journal() -> JsonlStore:
    """Where engines write their run records: an fsync'd append, cheap enough
    for every run. The Chroma store imports what it has not seen whenever it
    opens, so queries always see every run."""
    return JsonlStore()


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
