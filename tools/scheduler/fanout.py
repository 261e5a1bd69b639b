"""Multi-strategy runs: one request -> a quantize and a benchmark job for every
model × method × quant type, and a summary that picks the best by the user's
criterion once they are done."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from lqmf.tools.errors import InvalidInput
from lqmf.tools.scheduler.jobs import JobKind, JobState
from lqmf.tools.scheduler.store import JobStore


class Criterion(StrEnum):
    SMALLEST = "smallest"          # smallest file (under a KLD limit when one is given)
    FASTEST = "fastest"            # highest generation tokens/s
    BEST_QUALITY = "best_quality"  # lowest mean KLD (else lowest perplexity)


@dataclass
class Strategy:
    model: str
    quant_type: str
    method: str
    quantize_job: str
    bench_job: str | None
    state: str = "queued"
    size_bytes: int | None = None
    kld_mean: float | None = None
    ppl: float | None = None
    gen_tok_s: float | None = None
    artifact: str | None = None
    ppl_delta_pct: float | None = None
    gate_failed: str | None = None     # rejected by a quality gate: shown, never picked


@dataclass
class Summary:
    batch: str
    criterion: Criterion
    strategies: list[Strategy] = field(default_factory=list)
    best: Strategy | None = None
    reason: str = ""
    pending: int = 0


def fan_out(models: list[str], quant_types: list[str], methods: list[str | None] | None = None, *,
            bench: bool = True, chunks: int | None = None, priority: str = "normal",
            not_before=None, store: JobStore | None = None, gate: str | None = None) -> str:
    """Queue every combination; returns the batch id. All combinations are
    checked before anything is queued, so a typo queues nothing."""
    from lqmf.tools import scheduler
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import parse_method, parse_quant_type
    from lqmf.tools.scheduler.kinds import spec_for

    if not models or not quant_types:
        raise InvalidInput("a multi-strategy run needs at least one model and one quant type",
                           "e.g. models=[smollm2], quant types=[Q4_K_M, Q8_0]")
    combos = []
    for model in models:
        for method in methods or [None]:
            m = parse_method(method) if method else None
            for qt in quant_types:
                t = parse_quant_type(qt)
                owner = current().method_of(t)
                if m is not None and owner is not m:
                    continue  # Q4_K_M is a GGUF type; it has no bitsandbytes variant
                combos.append(spec_for(JobKind.QUANTIZE).validate(
                    {"model": model, "quant_type": t.value, "method": (m or owner).value}))
    if not combos:
        raise InvalidInput("no quant type matches the methods asked for",
                           "pair GGUF types (Q4_K_M ...) with gguf and NF4/INT8 with bnb")
    # everything else is checked too before the first job is queued
    from lqmf.tools.scheduler.timeparse import parse_not_before

    parse_not_before(not_before)
    if bench:
        spec_for(JobKind.BENCHMARK).validate({"target": {"from_job": "check"}, "chunks": chunks,
                                              "quant_type": combos[0]["quant_type"], "gate": gate})
    batch = "b" + uuid.uuid4().hex[:9]
    own = store is None
    store = store or JobStore()
    try:
        for args in combos:
            q = scheduler.submit(JobKind.QUANTIZE, args, priority, not_before, batch=batch, store=store)
            if bench:
                b_args = {"target": {"from_job": q}, "quant_type": args["quant_type"]}
                if chunks:
                    b_args["chunks"] = chunks
                if gate:
                    b_args["gate"] = gate
                scheduler.submit(JobKind.BENCHMARK, b_args, priority, not_before, batch=batch,
                                 depends_on=q, store=store)
    finally:
        if own:
            store.close()
    return batch


def summarize(batch: str, criterion: Criterion | str = Criterion.BEST_QUALITY, *,
              kld_limit: float | None = None, store: JobStore | None = None, gate=None) -> Summary:
    """The batch's strategies and the best pick; ``gate`` (a tools.gates.Gate) rejects
    the strategies that fail it, besides those its benchmark jobs already rejected."""
    try:
        criterion = Criterion(criterion)
    except ValueError:
        raise InvalidInput(f"unknown criterion '{criterion}'",
                           "use one of " + ", ".join(c.value for c in Criterion)) from None
    own = store is None
    store = store or JobStore()
    try:
        jobs = store.list(batch=batch)
    finally:
        if own:
            store.close()
    if not jobs:
        raise InvalidInput(f"there is no batch {batch}", "see `lqmf jobs` for the batch ids")
    benches = {j.depends_on: j for j in jobs if j.kind is JobKind.BENCHMARK}
    out = Summary(batch, criterion)
    for q in (j for j in jobs if j.kind is JobKind.QUANTIZE):
        b = benches.get(q.id)
        s = Strategy(q.args["model"], q.args["quant_type"], q.args["method"], q.id, b.id if b else None)
        last = b or q
        s.state = last.state.value if q.state is JobState.SUCCEEDED else q.state.value
        if q.result:
            s.size_bytes, s.artifact = q.result.get("size_bytes"), q.result.get("artifact")
        rec = (b.result or {}).get("record", {}) if b else {}
        s.kld_mean, s.ppl, s.gen_tok_s = rec.get("kld_mean"), rec.get("ppl"), rec.get("gen_tok_s")
        s.ppl_delta_pct = rec.get("ppl_delta_pct")
        s.gate_failed = rec.get("gate_failed")
        if gate is not None and rec and not s.gate_failed:
            s.gate_failed = gate.check(rec)
        s.size_bytes = s.size_bytes or rec.get("size_bytes")
        out.strategies.append(s)
        if not JobState(s.state).done:
            out.pending += 1
    done = [s for s in out.strategies if s.state == JobState.SUCCEEDED.value]
    out.best, out.reason = pick(done, criterion, kld_limit)
    return out


def within(s: Strategy, kld_limit: float | None = None, max_ppl_delta_pct: float | None = None,
           max_size_bytes: float | None = None) -> bool:
    """True when the strategy has a size and meets every limit given (a limit on a
    number it lacks is not met)."""
    return bool(s.size_bytes) \
        and (kld_limit is None or (s.kld_mean is not None and s.kld_mean <= kld_limit)) \
        and (max_ppl_delta_pct is None or (s.ppl_delta_pct is not None and s.ppl_delta_pct <= max_ppl_delta_pct)) \
        and (max_size_bytes is None or (s.size_bytes or 0) <= max_size_bytes)


def pick(done: list[Strategy], criterion: Criterion, kld_limit: float | None = None, *,
         max_ppl_delta_pct: float | None = None, max_size_bytes: float | None = None) -> tuple[Strategy | None, str]:
    """The best finished strategy by the criterion, and why. The one best-pick of the
    project: `lqmf sweep --batch` and the chat's tune goal both use it. A strategy
    rejected by a quality gate is never picked."""
    done = [s for s in done if not s.gate_failed]
    if criterion is Criterion.SMALLEST:
        limited = kld_limit is not None or max_ppl_delta_pct is not None or max_size_bytes is not None
        ok = [s for s in done if within(s, kld_limit, max_ppl_delta_pct, max_size_bytes)]
        if not ok:
            only_kld = max_ppl_delta_pct is None and max_size_bytes is None
            return None, (("no finished strategy stays under the KLD limit" if only_kld
                           else "no finished strategy meets the limits") if limited
                          else "no finished strategy has a size yet")
        best = min(ok, key=lambda s: s.size_bytes or 0)  # `ok` holds only sized ones
        return best, f"smallest file ({best.size_bytes} bytes)" + (f" with mean KLD {best.kld_mean:.4f} <= {kld_limit}" if kld_limit is not None else "")
    if criterion is Criterion.FASTEST:
        ok = [s for s in done if s.gen_tok_s]
        if not ok:
            return None, "no finished strategy has a speed measurement yet"
        best = max(ok, key=lambda s: s.gen_tok_s or 0.0)  # `ok` holds only measured ones
        return best, f"fastest generation ({best.gen_tok_s:.1f} tok/s)"
    ok = [s for s in done if s.kld_mean is not None] or [s for s in done if s.ppl is not None]
    if not ok:
        return None, "no finished strategy has a quality measurement yet"
    if ok[0].kld_mean is not None:
        best = min(ok, key=lambda s: s.kld_mean or 0.0)  # all not None here
        return best, f"lowest mean KLD ({best.kld_mean:.4f})"
    best = min(ok, key=lambda s: s.ppl or 0.0)  # all not None here
    return best, f"lowest perplexity ({best.ppl:.3f})"
