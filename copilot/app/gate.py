"""A quality gate on one finished job (what CI asks after submitting a job): it
passes when the job succeeded and its record meets every limit given, decided
by the one best-pick the sweep summary and tune share (``sweep.best_within``)."""
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
    limits: dict = field(default_factory=dict)
    record: dict | None = None


def check(app: "App", job_id: str, *, max_kld: float | None = None, max_ppl_delta_pct: float | None = None,
          max_size_gb: float | None = None) -> GateResult:
    from lqmf.copilot.app import jobs
    from lqmf.copilot.app.sweep import Goal, best_within

    view = jobs.show(app, job_id)
    limits = {k: v for k, v in {"max_kld": max_kld, "max_ppl_delta_pct": max_ppl_delta_pct,
                                "max_size_gb": max_size_gb}.items() if v is not None}
    if view.status.value != "succeeded":
        return GateResult(view.id, view.status.value, False, [f"the job is {view.status.value}, not succeeded"], limits)
    rec = (view.result or {}).get("record") or {}
    reasons = []
    for name, fld, scale, label in (("max_kld", "kld_mean", 1.0, "KL divergence"),
                                    ("max_ppl_delta_pct", "ppl_delta_pct", 1.0, "perplexity change %"),
                                    ("max_size_gb", "size_bytes", 1e9, "size GB")):
        if name not in limits:
            continue
        value = rec.get(fld)
        if value is None:
            reasons.append(f"the result has no {label} to check against {limits[name]}")
        elif value / scale > limits[name]:
            reasons.append(f"{label} {value / scale:.4g} is over the limit {limits[name]}")
    passed = best_within([rec], Goal(max_kld, max_ppl_delta_pct, max_size_gb)) is not None if limits else True
    if not passed and not reasons:
        reasons.append("the result does not meet the limits")
    return GateResult(view.id, view.status.value, passed and not reasons, reasons, limits, rec or None)
