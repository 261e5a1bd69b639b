"""Experiment records: every quantize or benchmark run, succeeded or failed.

Records go through the ``RecordStore`` interface. ``JsonlStore`` (one JSON
object per line in the data dir, appended under a lock) is the plain-file
store; the Chroma store (tools/store.py) implements the same interface and
imports what the JSONL file holds.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from lqmf.tools.config import data_dir


class RunKind(StrEnum):
    QUANTIZE = "quantize"
    BENCHMARK = "benchmark"


from lqmf.tools.status import Status  # noqa: E402,F401 - the one status vocabulary


@dataclass
class ExperimentRecord:
    """One run. Numbers are None when not measured; units are in the names."""

    kind: str                               # RunKind
    status: str                             # Status
    model: str                              # the model as referenced ("smollm2", a path, a hub id)
    model_name: str = ""                    # short slug
    family: str | None = None
    architecture: str | None = None
    n_params: int | None = None
    tasks: list[str] = field(default_factory=list)
    license: str | None = None
    method: str | None = None               # QuantMethod
    quant_type: str | None = None           # QuantType
    bits: int | None = None
    device: str = "cpu"
    threads: int | None = None
    cpu_busy: float | None = None           # cores busy with other work when the run started
    artifact: str | None = None             # path of the produced / measured file
    size_bytes: int | None = None
    # benchmark numbers
    load_s: float | None = None
    peak_rss_mb: float | None = None
    prompt_tok_s: float | None = None
    gen_tok_s: float | None = None
    ppl: float | None = None
    base_ppl: float | None = None
    ppl_delta_pct: float | None = None
    kld_mean: float | None = None
    kld_p99: float | None = None
    top1_pct: float | None = None
    eval_text: str | None = None
    eval_tokens: int | None = None
    ctx: int | None = None
    # timings and outcome
    duration_s: float | None = None
    error: str | None = None
    # lineage
    source_path: str | None = None
    source_sha256: str | None = None
    artifact_sha256: str | None = None
    tool_versions: dict[str, str] = field(default_factory=dict)
    host: str = field(default_factory=socket.gethostname)
    created_at: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentRecord":
        """A record from its dict; ``BadRecord`` when it is not an object, lacks
        a required field or holds a value of the wrong type."""
        if not isinstance(data, dict):
            raise BadRecord(f"a JSON {type(data).__name__}, not an object")
        known = {f.name: f for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in known}
        for name in ("kind", "status", "model"):
            if name not in kept:
                raise BadRecord(f"no {name!r} field")
        for name, value in kept.items():
            if not _type_ok(value, known[name].type):
                raise BadRecord(f"field {name!r} is of type {type(value).__name__}")
        return cls(**kept)


class BadRecord(ValueError):
    """A journal line that is not a valid record (the reason is the text)."""


def _type_ok(value, annotation: str) -> bool:
    """Whether ``value`` fits a field annotation such as ``int | None``."""
    for part in str(annotation).split("|"):
        t = part.strip()
        if t == "None" and value is None:
            return True
        if t == "str" and isinstance(value, str):
            return True
        if t == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t.startswith("list[") and isinstance(value, list) and all(isinstance(x, str) for x in value):
            return True
        if t.startswith("dict[") and isinstance(value, dict):
            return True
    return False


def parse_line(raw: bytes | str) -> ExperimentRecord:
    """One journal line as a record, or ``BadRecord`` saying why not."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRecord(f"not JSON ({e.__class__.__name__})") from None
    return ExperimentRecord.from_dict(data)


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


class RecordStore(Protocol):
    def add(self, record: ExperimentRecord) -> None: ...
    def all(self) -> list[ExperimentRecord]: ...


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


def default_store() -> RecordStore:
    """The store every tool writes to: Chroma (tools/store.py) when chromadb is
    installed, which imports the JSONL records on first open; else JSONL."""
    from lqmf.tools.store import chroma_available, open_store

    if chroma_available():
        return open_store()
    return JsonlStore()


@contextlib.contextmanager
def recorded_run(rec: ExperimentRecord, store: RecordStore, what: str) -> Iterator[ExperimentRecord]:
    """Run the body as one experiment: the record ends succeeded, failed (with
    the one-sentence error) or cancelled, and is stored whatever happens.
    Backend exceptions leave as one LqmfError; Ctrl-C as Interrupted."""
    from lqmf.tools.errors import Interrupted, LqmfError, from_backend

    start = time.perf_counter()
    try:
        yield rec
        rec.status = Status.SUCCEEDED
    except KeyboardInterrupt:
        rec.status, rec.error = Status.CANCELLED, "interrupted by the user"
        raise Interrupted(f"{what} interrupted", "temporary files were removed; run it again to start clean") from None
    except LqmfError as e:
        rec.status, rec.error = Status.FAILED, str(e)
        raise
    except Exception as e:  # noqa: BLE001 - mapped to one sentence
        err = from_backend(e, what)
        rec.status, rec.error = Status.FAILED, str(err)
        raise err from e
    finally:
        rec.duration_s = time.perf_counter() - start
        try:
            store.add(rec)
        except Exception:  # noqa: BLE001 - a record must never hide the run's own outcome
            pass


def tool_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("lqmf", "llama-cpp-python", "transformers", "torch", "bitsandbytes"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
