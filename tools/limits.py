"""The range of every number a user can give (CLI flags, job arguments, chat
slots), declared once. ``check`` turns an out-of-range value into one sentence."""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from lqmf.tools.errors import InvalidInput


def cores() -> int:
    from lqmf.tools.hardware import usable_cores

    return usable_cores()


class Knob(StrEnum):
    CHUNKS = "chunks"
    CTX = "ctx"
    THREADS = "threads"
    LIMIT = "limit"
    MAX_JOBS = "max-jobs"
    CORES = "cores"
    BITS = "bits"
    SINCE_DAYS = "since-days"
    MAX_SIZE_GB = "max-size-gb"
    MIN_TOK_S = "min-tok-s"
    MAX_KLD = "max-kld"
    VRAM_GB = "vram"
    RAM_GB = "ram"
    CONTEXT = "context"


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    integer: bool = True
    why: str = ""

    def text(self) -> str:
        fmt = (lambda v: f"{int(v):,}") if self.integer else (lambda v: f"{v:g}")
        return f"{fmt(self.lo)} to {fmt(self.hi)}"


MAX_THREADS = 256          # llama.cpp crashes far above the core count (100000 segfaulted)
MAX_AHEAD_DAYS = 366       # --at: not later than a year from now


def ranges() -> dict[Knob, Range]:
    """Every knob's range (some depend on this machine's cores)."""
    n = cores()
    return {
        Knob.CHUNKS: Range(1, 1000, why="windows of --ctx tokens to score"),
        Knob.CTX: Range(16, 8192, why="tokens per window (even); also at most the model's context length"),
        Knob.THREADS: Range(1, min(MAX_THREADS, max(4 * n, 8)), why=f"this machine has {n} cores"),
        Knob.LIMIT: Range(1, 100_000),
        Knob.MAX_JOBS: Range(1, 256),
        Knob.CORES: Range(1, max(4 * n, 8), why=f"this machine has {n} cores"),
        Knob.BITS: Range(1, 32),
        Knob.SINCE_DAYS: Range(0, 36_500),
        Knob.MAX_SIZE_GB: Range(0, 1_000_000, integer=False),
        Knob.MIN_TOK_S: Range(0, 1e9, integer=False),
        Knob.MAX_KLD: Range(0, 1_000, integer=False),
        Knob.VRAM_GB: Range(0.25, 4096, integer=False, why="GB of GPU memory"),
        Knob.RAM_GB: Range(0.25, 65536, integer=False, why="GB of RAM"),
        Knob.CONTEXT: Range(256, 1_048_576, why="tokens of context to size the KV cache for"),
    }


def check(knob: Knob, value, flag: str | None = None):
    """``value`` as a number inside ``knob``'s range, or one clear InvalidInput."""
    r = ranges()[knob]
    name = flag or f"--{knob.value}"
    try:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        if r.integer:
            if number != int(number):
                raise ValueError
            number = int(number)
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if r.integer else "a number"
        raise InvalidInput(f"{name} must be {kind}, not {str(value)[:40]!r}", f"give {r.text()}") from None
    if not r.lo <= number <= r.hi:
        extra = f" ({r.why})" if r.why else ""
        raise InvalidInput(f"{name} {number} is out of range{extra}", f"give {r.text()}")
    return number
