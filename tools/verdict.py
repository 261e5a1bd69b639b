"""An artifact's standing with the quality gates (tools/gates.py).

A gate judges an artifact, not only one run of it: the latest gated benchmark of
an artifact decides, and a passing one clears an earlier rejection. A benchmark
without a gate does not judge the artifact again; its record carries the
standing rejection (the gate, what failed, the run that judged it), so a
rejected artifact is never offered as a pick, whatever is measured of it later,
until a gate passes it. The fact lives once, in the run records; nothing is
written next to the artifact.

The same artifact: the same path, and the same content (its sha256 when both
records and the file's sidecar know it, else a judgement newer than the file,
so a rebuilt artifact starts with a clean slate)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lqmf.tools.store.records import ExperimentRecord


CARRIED = " (judged by run "     # marks a rejection a run carries rather than one it measured


@dataclass(frozen=True)
class Verdict:
    gate: str                   # the gate expression that judged it
    failed: str | None          # what it failed (None: it passed)
    record_id: str              # the benchmark run that judged it
    at: float                   # when (the run's created_at)

    @property
    def rejected(self) -> bool:
        return bool(self.failed)

    def carried(self) -> str | None:
        """The rejection as a later, ungated run's record carries it (None when it passed)."""
        return f"{self.failed}{CARRIED}{self.record_id})" if self.failed else None


def _same_path(a: str | None, b: Path) -> bool:
    if not a:
        return False
    try:
        return Path(a).expanduser().resolve() == b
    except (OSError, RuntimeError):
        return False


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def standing(artifact: str | Path, records: Iterable["ExperimentRecord"], sha256: str | None = None) -> Verdict | None:
    """The verdict of the latest gated, finished benchmark of ``artifact`` among
    ``records`` (None: never judged). ``sha256``: the artifact's content hash, when known."""
    from lqmf.tools.status import Status

    path = Path(artifact).expanduser().resolve()
    made = _mtime(path)
    best: "ExperimentRecord | None" = None
    for r in records:
        if r.kind != "benchmark" or r.status != Status.SUCCEEDED or not r.gate or not _same_path(r.artifact, path):
            continue
        if r.gate_failed and CARRIED in r.gate_failed:      # a run that did not judge
            continue
        if sha256 and r.artifact_sha256:
            if r.artifact_sha256 != sha256:
                continue
        elif made is not None and r.created_at < made - 1.0:   # judged before this file was written
            continue
        if best is None or r.created_at >= best.created_at:
            best = r
    if best is None:
        return None
    assert best.gate is not None
    return Verdict(best.gate, best.gate_failed, best.id, best.created_at)
