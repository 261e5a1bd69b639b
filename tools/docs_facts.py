"""The user's own numbers for an explanation: "why is my Q2_K so bad?" is
answered with the user's Q2_K benchmark next to a better type of the same
model. Pure functions of the records; reading the store is the caller's job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lqmf.tools.docs_lexical import normalize
from lqmf.tools.store.records import ExperimentRecord, RunKind, Status
from lqmf.tools.quantize.types import QuantType

_BY_KEY = {t.value.lower(): t for t in QuantType}


def quant_types_in(text: str) -> list[QuantType]:
    """Quant types named in the text, in order ("my q2 k" -> [Q2_K])."""
    out: list[QuantType] = []
    for w in re.findall(r"[a-z0-9_]+", normalize(text)):
        t = _BY_KEY.get(w)
        if t and t not in out:
            out.append(t)
    return out


@dataclass(frozen=True)
class OwnRun:
    """One of the user's measured artifacts, and what to hold it against."""

    record: ExperimentRecord
    reference: ExperimentRecord | None     # the same model's best-quality other type

    def lines(self) -> list[str]:
        r = self.record
        out = [f"Your {r.quant_type} of {r.model_name or r.model}: {_numbers(r)}."]
        if self.reference is not None:
            ref = self.reference
            out.append(f"Your {ref.quant_type} of the same model: {_numbers(ref)}.")
        return out


def _numbers(r: ExperimentRecord) -> str:
    parts = []
    if r.kld_mean is not None:
        parts.append(f"mean KLD {r.kld_mean:.4f}")
    if r.ppl_delta_pct is not None:
        parts.append(f"Δppl {r.ppl_delta_pct:+.1f}%")
    elif r.ppl is not None:
        parts.append(f"perplexity {r.ppl:.2f}")
    if r.top1_pct is not None:
        parts.append(f"top-1 {r.top1_pct:.1f}%")
    if r.size_bytes:
        parts.append(f"{r.size_bytes / 1e6:.0f} MB")
    if r.gen_tok_s is not None:
        parts.append(f"{r.gen_tok_s:.0f} tok/s")
    return ", ".join(parts) or "no quality numbers measured"


def _measured(r: ExperimentRecord) -> bool:
    return (r.kind == RunKind.BENCHMARK and r.status == Status.SUCCEEDED
            and (r.kld_mean is not None or r.ppl is not None))


def own_runs(records: list[ExperimentRecord], qtype: QuantType, limit: int = 2) -> list[OwnRun]:
    """The latest successful benchmark of ``qtype`` for each model (newest
    first, at most ``limit`` models), each with the same model's lowest-KLD
    other quantized type as its reference."""
    mine = sorted((r for r in records if _measured(r) and r.quant_type == qtype.value),
                  key=lambda r: r.created_at, reverse=True)
    out: list[OwnRun] = []
    seen: set[str] = set()
    for r in mine:
        model = r.model_name or r.model
        if model in seen:
            continue
        seen.add(model)
        others = [o for o in records if _measured(o) and (o.model_name or o.model) == model
                  and o.quant_type not in (qtype.value, QuantType.F16.value, None)
                  and o.kld_mean is not None]
        ref = min(others, key=lambda o: o.kld_mean or 0.0) if others and r.kld_mean is not None else None
        # (`others` holds only runs with a KLD)
        out.append(OwnRun(r, ref))
        if len(out) >= limit:
            break
    return out
