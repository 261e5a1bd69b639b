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

from tools.config import data_dir


class RunKind(StrEnum):
    QUANTIZE = "quantize"
    BENCHMARK = "benchmark"


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RUNNING = "running"
    QUEUED = "queued"
    CANCELLED = "cancelled"


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
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class RecordStore(Protocol):
    def add(self, record: ExperimentRecord) -> None: ...
    def all(self) -> list[ExperimentRecord]: ...


class JsonlStore:
    """Append-only JSON lines; a torn last line (killed writer) is skipped."""

    def __init__(self, path: Path | None = None):
        self.path = path or data_dir() / "records.jsonl"

    def add(self, record: ExperimentRecord) -> None:
        line = json.dumps(record.to_dict(), default=str) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def all(self) -> list[ExperimentRecord]:
        return list(self._iter())

    def _iter(self) -> Iterable[ExperimentRecord]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    yield ExperimentRecord.from_dict(json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue


def journal() -> JsonlStore:
    """Where engines write their run records: an fsync'd append, cheap enough
    for every run. The Chroma store imports what it has not seen whenever it
    opens, so queries always see every run."""
    return JsonlStore()


def default_store() -> RecordStore:
    """The store every tool writes to: Chroma (tools/store.py) when chromadb is
    installed, which imports the JSONL records on first open; else JSONL."""
    from tools.store import chroma_available, open_store

    if chroma_available():
        return open_store()
    return JsonlStore()


@contextlib.contextmanager
def recorded_run(rec: ExperimentRecord, store: RecordStore, what: str) -> Iterator[ExperimentRecord]:
    """Run the body as one experiment: the record ends succeeded, failed (with
    the one-sentence error) or cancelled, and is stored whatever happens.
    Backend exceptions leave as one LqmfError; Ctrl-C as Interrupted."""
    from tools.errors import Interrupted, LqmfError, from_backend

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
