"""Sweeps: queue quantize+benchmark for every model × method × quant type, sum
up a batch, and the one best-pick (``pick``) that the sweep summary and the
chat's tune goal share."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from lqmf.tools.errors import InvalidInput
from lqmf.tools.status import Status
from lqmf.copilot.app.audit import audited

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


@audited("sweep.queue")
def sweep(app: "App", models: list[str], types: list[str], methods: "Sequence[str | None] | None" = None, *,
          chunks: int | None = None, priority: str = "normal", not_before: str | None = None,
          gate: str | None = None) -> str:
    """Queue the whole sweep (everything is checked before the first job); returns the batch id.
    ``gate``: each benchmark marks its run rejected when it fails; the pick skips those."""
    from lqmf.copilot.app.gates import parse
    from lqmf.tools.scheduler.fanout import fan_out

    g = parse(gate)

    if not models or not types:
        raise InvalidInput("a sweep needs at least one model and --type", "e.g. lqmf sweep smollm2 --type Q4_K_M,Q8_0")
    batch = fan_out(models, types, list(methods) if methods else None, chunks=chunks, priority=priority,
                    not_before=not_before, gate=g.text if g else None)
    app.jobs.ensure_worker()
    return batch


def summary(app: "App", batch: str, criterion: str = "best_quality", *, max_kld: float | None = None,
            gate: str | None = None) -> Any:
    """The batch's strategies and the best by the criterion (a ``fanout.Summary``);
    ``gate``: strategies failing it are marked rejected and not picked."""
    from lqmf.copilot.app.gates import parse
    from lqmf.tools.scheduler.fanout import summarize

    return summarize(batch, criterion, kld_limit=max_kld, gate=parse(gate))


@dataclass
class Goal:
    """A tune goal: the smallest candidate within every limit given."""

    max_kld: float | None = None
    max_ppl_delta_pct: float | None = None
    max_size_gb: float | None = None


@dataclass
class Candidate:
    quant_type: str | None
    size_bytes: int | None
    kld_mean: float | None
    artifact: str | None


def best_within(records: list[dict], goal: Goal) -> Candidate | None:
    """The smallest of these benchmark records that meets the goal (``fanout.pick``)."""
    from lqmf.tools.scheduler.fanout import Criterion, Strategy, pick

    strategies = [Strategy(str(r.get("model") or ""), str(r.get("quant_type") or ""), str(r.get("method") or ""),
                           "", None, Status.SUCCEEDED.value, size_bytes=r.get("size_bytes"), kld_mean=r.get("kld_mean"),
                           ppl=r.get("ppl"), gen_tok_s=r.get("gen_tok_s"), artifact=r.get("artifact"),
                           ppl_delta_pct=r.get("ppl_delta_pct"), gate_failed=r.get("gate_failed")) for r in records]
    best, _ = pick(strategies, Criterion.SMALLEST, goal.max_kld, max_ppl_delta_pct=goal.max_ppl_delta_pct,
                   max_size_bytes=goal.max_size_gb * 1e9 if goal.max_size_gb is not None else None)
    if best is None:
        return None
    return Candidate(best.quant_type or None, best.size_bytes, best.kld_mean, best.artifact)
