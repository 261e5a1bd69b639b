"""Experiment records: every quantize or benchmark run, succeeded or failed.

Records go through the ``RecordStore`` interface: the JSON-lines journal
(tools/store/journal.py) and the experiment store (tools/store/experiments.py)
both implement it. This module imports nothing else of the store.
"""
from __future__ import annotations

import contextlib
import functools
import json
import platform
import socket
import time
import uuid
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Iterator, Protocol
from lqmf.tools.status import Status  # noqa: F401 - re-exported: records speak the one status vocabulary


class RunKind(StrEnum):
    QUANTIZE = "quantize"
    BENCHMARK = "benchmark"


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
    # quality gates (tools/gates.py): the gate a run was checked against, and the
    # conditions it failed (set: the run is rejected, never offered as a pick)
    gate: str | None = None
    gate_failed: str | None = None
    # quantization recipe beyond the type (tools/quantize/recipe.py): imatrix text,
    # per-tensor overrides, exactly as passed to llama-quantize
    recipe: dict[str, str] = field(default_factory=dict)
    # lineage
    source_path: str | None = None
    source_sha256: str | None = None
    artifact_sha256: str | None = None
    tool_versions: dict[str, str] = field(default_factory=dict)
    host: str = field(default_factory=socket.gethostname)
    created_at: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def to_dict(self) -> dict:
        """The record as plain JSON data; its lists and dicts are copies. (``dataclasses.asdict``
        deep-copies field by field: 36 of the 47 ms of reading 1,000 records for the API.)"""
        return {name: _copied(getattr(self, name)) for name in _field_names()}

    @property
    def rejected(self) -> bool:
        """Failed a quality gate: kept, shown, never picked."""
        return bool(self.gate_failed)

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
            if not _type_ok(value, str(known[name].type)):
                raise BadRecord(f"field {name!r} is of type {type(value).__name__}")
        return cls(**kept)


def _copied(v):
    """``v`` with its lists and dicts copied, at any depth (the values are JSON data)."""
    if isinstance(v, dict):
        return {k: _copied(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copied(x) for x in v]
    return v


@functools.cache
def _field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(ExperimentRecord))


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


class RecordStore(Protocol):
    def add(self, record: ExperimentRecord) -> None: ...
    def all(self) -> list[ExperimentRecord]: ...


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
