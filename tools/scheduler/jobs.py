"""The job: its domain words (kind, state, priority) and its typed row."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum

from lqmf.tools.errors import InvalidInput
from lqmf.tools.status import Status


class JobKind(StrEnum):
    NOOP = "noop"            # does nothing; measures queue overhead
    SLEEP = "sleep"          # sleeps / holds memory; for tests and benches
    QUANTIZE = "quantize"
    BENCHMARK = "benchmark"
    TUNE = "tune"            # a quality-gated search: trials of quantize + benchmark (tools/tune)


JobState = Status  # the one status vocabulary (tools/status.py)


class Priority(IntEnum):
    LOW = 0
    NORMAL = 5
    HIGH = 10
    URGENT = 20

    @classmethod
    def parse(cls, value: "str | int | Priority") -> "Priority":
        if isinstance(value, Priority):
            return value
        if isinstance(value, int):
            return min(cls, key=lambda p: abs(p.value - value))
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise InvalidInput(f"unknown priority '{value}'",
                               "use one of " + ", ".join(p.name.lower() for p in cls)) from None


@dataclass
class Needs:
    """What one job takes from the machine while it runs."""

    ram_bytes: int = 0
    vram_bytes: int = 0
    cpus: int = 1
    gpus: int = 0
    basis: str = ""          # how the RAM figure was estimated, for `lqmf jobs show`
    raw_ram_bytes: int = 0   # the estimate before calibration (calibration learns from it)


@dataclass
class Job:
    kind: JobKind
    args: dict
    priority: Priority = Priority.NORMAL
    state: JobState = JobState.QUEUED
    needs: Needs = field(default_factory=Needs)
    progress: float | None = None        # 0..1 when known
    stage: str = ""                      # the last progress message
    attempts: int = 0
    max_attempts: int = 3
    worker: str | None = None            # worker id that runs / ran it
    pid: int | None = None               # the job process (on the worker's host)
    result: dict | None = None
    error: str | None = None
    note: str | None = None              # why it waits, if it waits for a reason
    batch: str | None = None             # fan-out group
    depends_on: str | None = None        # a job that must succeed first
    shared_key: str | None = None        # jobs that share a prerequisite (an F16 conversion)
    cancel_requested: bool = False
    peak_rss_bytes: int | None = None    # measured by the worker
    created_at: float = field(default_factory=time.time)
    not_before: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["state"] = self.state.value
        d["priority"] = self.priority.name.lower()
        return d

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


def dumps(obj) -> str:
    return json.dumps(obj, default=str, sort_keys=True)
