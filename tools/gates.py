"""Quality gates: ``kld<0.05,ppl_delta<3%,tok_s>50,size<1GB``, parsed once into
typed conditions over the metric registry (tools/metrics.py), and checked
against a run's numbers. A run that fails a gate is kept but marked rejected
(``ExperimentRecord.gate_failed``) and is never offered as a pick.

Grammar (one sentence in ``GRAMMAR``)::

    gate      := condition ("," condition)*
    condition := name op number [unit]
    op        := "<" | "<=" | ">" | ">="
    name      := a short name in NAMES, or a metric's record field (kld_mean, gen_tok_s, ...)
    unit      := what the metric's unit allows: B/KB/MB/GB/KiB/MiB/GiB for a size,
                 "%" for a percentage, "tok/s" for a speed, "s" for seconds, MB/GB for memory
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from enum import StrEnum

from lqmf.tools.errors import InvalidInput
from lqmf.tools.metrics import METRICS, Metric, say, spec

# The short names a gate may use, per metric (a metric's record field is always accepted too).
NAMES: dict[str, Metric] = {
    "kld": Metric.KLD_MEAN, "kl": Metric.KLD_MEAN, "kld_p99": Metric.KLD_P99,
    "ppl": Metric.PPL, "ppl_delta": Metric.PPL_DELTA_PCT, "dppl": Metric.PPL_DELTA_PCT,
    "top1": Metric.TOP1_PCT, "tok_s": Metric.GEN_TOK_S, "tg": Metric.GEN_TOK_S,
    "pp_tok_s": Metric.PROMPT_TOK_S, "pp": Metric.PROMPT_TOK_S, "size": Metric.SIZE,
    "load": Metric.LOAD_S, "rss": Metric.PEAK_RSS_MB, "duration": Metric.DURATION_S,
    **{m.value: m for m in Metric},
}

# unit word -> factor, per metric unit (tools/metrics.py's MetricSpec.unit)
_UNITS: dict[str, dict[str, float]] = {
    "bytes": {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30},
    "%": {"": 1, "%": 1},
    "tok/s": {"": 1, "tok/s": 1, "t/s": 1},
    "s": {"": 1, "s": 1},
    "MB": {"": 1, "mb": 1, "gb": 1e3},
    "": {"": 1},
}
assert all(s.unit in _UNITS for s in METRICS.values()), "every metric unit needs a gate unit table"


class Op(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


_CMP = {Op.LT: operator.lt, Op.LE: operator.le, Op.GT: operator.gt, Op.GE: operator.ge}
GRAMMAR = ("a gate is conditions separated by commas, each NAME OP NUMBER[UNIT] with OP one of < <= > >=, "
           "NAME one of kld, kld_p99, ppl, ppl_delta, top1, tok_s, pp_tok_s, size, load, rss, "
           "and a unit where it fits (size<1GB, ppl_delta<3%, tok_s>50), e.g. \"kld<0.05,size<1GB\"")
_COND = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*([A-Za-z/%]*)\s*$")


@dataclass(frozen=True)
class Condition:
    metric: Metric
    op: Op
    value: float          # in the metric's own unit (bytes, %, tok/s ...)
    text: str             # as the user wrote it, normalised ("kld<0.05")

    def passes(self, value: object) -> bool | None:
        """True / False, or None when the run lacks the number."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        return bool(_CMP[self.op](float(value), self.value))

    def failure(self, value: object) -> str | None:
        """Why a run with this value fails the condition, or None when it passes."""
        ok = self.passes(value)
        if ok:
            return None
        if ok is None:
            return f"{self.text} (not measured)"
        return f"{self.text} ({say(self.metric, value)})"


@dataclass(frozen=True)
class Gate:
    conditions: tuple[Condition, ...]

    @property
    def text(self) -> str:
        return ",".join(c.text for c in self.conditions)

    @property
    def metrics(self) -> set[Metric]:
        return {c.metric for c in self.conditions}

    def failures(self, numbers: dict) -> list[str]:
        """The failed conditions for a run's numbers (a record dict), in gate order."""
        out = []
        for c in self.conditions:
            why = c.failure(numbers.get(c.metric.value))
            if why:
                out.append(why)
        return out

    def check(self, numbers: dict) -> str | None:
        """None when the run passes, else the failed conditions in one string."""
        failed = self.failures(numbers)
        return "; ".join(failed) if failed else None

    def needs_speed(self) -> bool:
        return bool(self.metrics & {Metric.GEN_TOK_S, Metric.PROMPT_TOK_S, Metric.LOAD_S, Metric.PEAK_RSS_MB})

    def limit(self, metric: Metric) -> float | None:
        """The tightest upper bound the gate puts on ``metric`` (None: none)."""
        bounds = [c.value for c in self.conditions if c.metric is metric and c.op in (Op.LT, Op.LE)]
        return min(bounds) if bounds else None

    def __str__(self) -> str:
        return self.text


def parse_gate(text: str | None) -> Gate | None:
    """A gate expression -> a Gate (None for no gate); a malformed one is one
    sentence showing the grammar."""
    if text is None or not str(text).strip():
        return None
    conds = []
    for part in str(text).split(","):
        if not part.strip():
            continue
        conds.append(_condition(part, str(text)))
    if not conds:
        raise InvalidInput(f"the gate {text!r} has no condition", GRAMMAR)
    return Gate(tuple(conds))


def _condition(part: str, whole: str) -> Condition:
    m = _COND.match(part)
    if not m:
        raise InvalidInput(f"cannot read the gate condition {part.strip()!r} in {whole!r}", GRAMMAR)
    name, op, number, unit = m.group(1).lower(), Op(m.group(2)), float(m.group(3)), m.group(4).lower()
    metric = NAMES.get(name)
    if metric is None:
        raise InvalidInput(f"the gate names no metric {name!r}", GRAMMAR)
    units = _UNITS[spec(metric).unit]
    if unit not in units:
        allowed = ", ".join(u for u in units if u) or "none"
        raise InvalidInput(f"{unit!r} is not a unit for {name} in the gate (allowed: {allowed})", GRAMMAR)
    value = number * units[unit]
    return Condition(metric, op, value, f"{name}{op.value}{m.group(3)}{m.group(4)}")


def combine(*gates: Gate | None) -> Gate | None:
    """All the conditions of the gates given (a saved gate and one typed now)."""
    conds = tuple(c for g in gates if g for c in g.conditions)
    return Gate(conds) if conds else None
