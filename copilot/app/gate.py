"""A quality gate on one finished job (what CI asks after submitting a job): it
passes when the job succeeded and its record meets every condition. The gate is
the one grammar of tools/gates.py (``kld<0.05,size<1GB``), given as an expression
or a saved name (``app.gates.parse``), or as the chat's limits (``max_kld`` ...)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


@dataclass
class GateResult:
    job: str
    status: str
    passed: bool
    reasons: list[str] = field(default_factory=list)
    gate: str | None = None
    record: dict | None = None


def check(app: "App", job_id: str, *, gate: str | None = None, max_kld: float | None = None,
          max_ppl_delta_pct: float | None = None, max_size_gb: float | None = None) -> GateResult:
    from lqmf.copilot.app import gates, jobs

    limits = gates.from_slots({"max_kld": max_kld, "max_ppl_delta_pct": max_ppl_delta_pct,
                               "max_size_gb": max_size_gb})
    g = gates.parse(",".join(t for t in (gate, limits) if t) or None)  # a malformed gate: one sentence
    view = jobs.show(app, job_id)
    text = g.text if g else None
    if view.status.value != "succeeded":
        return GateResult(view.id, view.status.value, False, [f"the job is {view.status.value}, not succeeded"], text)
    result = view.result or {}
    rec = result.get("bench") or result.get("record") or {}   # a gated quantize job: its benchmark's numbers
    reasons = g.failures(rec) if g else []
    return GateResult(view.id, view.status.value, not reasons, reasons, text, rec or None)
