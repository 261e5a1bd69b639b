"""The search: an ordered, early-stopping walk over candidates for the smallest
(or fastest) artifact that passes the gate, in the spirit of Intel Neural
Compressor's accuracy-aware tuning. Pure logic over a ``measure`` function
(a trial: quantize + benchmark, see trials.py) and a prior (predict.py).

Smallest: candidates are taken by size. The prior predicts each one's gated
quality number (mean KLD or Δppl); after every trial the prior is calibrated
on what was measured (each candidate by the measured / predicted ratio of the
trial with the nearest prediction), and a candidate is decided without a
trial when its calibrated prediction is more than ``MARGIN`` times over the limit. The next trial is the smallest candidate
still predicted to pass; a passing trial prunes every larger candidate. It
ends when no undecided candidate is smaller than the best that passed.

Fastest: candidates predicted to fail are pruned the same way; every other one
is measured (speed cannot be predicted well enough here), the fastest passing wins.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from lqmf.tools.gates import Gate
from lqmf.tools.metrics import Metric
from lqmf.tools.tune.candidates import Candidate

MARGIN = 2.0    # a calibrated prediction this many times over the limit counts as a failure
QUALITY = (Metric.KLD_MEAN, Metric.KLD_P99, Metric.PPL_DELTA_PCT)
SIZE_TIE = 0.001  # sizes closer than this share of the smallest tie (metadata); the lower mean KLD wins


class Goal(StrEnum):
    SMALLEST = "smallest"
    FASTEST = "fastest"


@dataclass
class Trial:
    candidate: str                  # Candidate.key
    record: dict                    # the benchmark record (dict)
    failed: str | None              # the gate's failed conditions, None when it passed
    reused: bool = False            # found in the trial journal (a resumed or repeated tune)

    @property
    def passed(self) -> bool:
        return self.failed is None and not self.record.get("error")

    @property
    def size_bytes(self) -> int:
        return int(self.record.get("size_bytes") or 0)


@dataclass
class SearchResult:
    goal: Goal
    gate: str
    candidates: list[str]
    trials: list[Trial] = field(default_factory=list)
    pruned: dict[str, str] = field(default_factory=dict)   # candidate -> why it was not tried
    best: Trial | None = None
    reason: str = ""
    paths: dict[str, dict] = field(default_factory=dict)   # runtime path -> what it found (paths.py)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    def to_dict(self) -> dict:
        return {"goal": self.goal.value, "gate": self.gate, "candidates": self.candidates,
                "trials": [{"candidate": t.candidate, "passed": t.passed, "failed": t.failed, "reused": t.reused,
                            **{k: t.record.get(k) for k in ("method", "size_bytes", "kld_mean", "ppl_delta_pct",
                                                             "gen_tok_s", "artifact", "id")}} for t in self.trials],
                "pruned": self.pruned, "best": self.best.candidate if self.best else None,
                "reason": self.reason, "paths": self.paths}


Measure = Callable[[list[Candidate]], list[Trial]]          # a round of trials (maybe in parallel)
Prior = Callable[[Candidate, Metric], "float | None"]


def _quality_metric(gate: Gate) -> Metric | None:
    return next((c.metric for c in gate.conditions if c.metric in QUALITY and gate.limit(c.metric) is not None), None)


class _Calibrated:
    """The prior scaled by what trials measured: each candidate by the ratio measured /
    predicted of the trial whose prediction is nearest to its own (in log space), since
    the ratio drifts across the range (the error of an 8-bit and a 3-bit type do not
    map to KLD by one factor)."""

    def __init__(self, prior: Prior, metric: Metric | None):
        self.prior, self.metric = prior, metric
        self.points: list[tuple[float, float]] = []   # (log prediction, log ratio)

    def learn(self, cand: Candidate, record: dict) -> None:
        if self.metric is None:
            return
        p, m = self.prior(cand, self.metric), record.get(self.metric.value)
        if p and p > 0 and isinstance(m, (int, float)) and m > 0:
            self.points.append((math.log(p), math.log(m / p)))

    def __call__(self, cand: Candidate) -> float | None:
        if self.metric is None:
            return None
        p = self.prior(cand, self.metric)
        if p is None or p <= 0 or not self.points:
            return p
        lp = math.log(p)
        near = min(abs(x - lp) for x, _ in self.points)
        ratios = [r for x, r in self.points if abs(x - lp) == near]
        return p * math.exp(statistics.median(ratios))


def search(candidates: list[Candidate], gate: Gate, measure: Measure, prior: Prior, *,
           goal: Goal = Goal.SMALLEST, size_of: Callable[[Candidate], float] | None = None,
           parallel: int = 1, exhaustive: bool = False) -> SearchResult:
    """Run the search; ``exhaustive`` measures every candidate (the reference)."""
    size_of = size_of or (lambda c: c.bpw)
    order = sorted(candidates, key=size_of)
    res = SearchResult(goal, gate.text, [c.key for c in order])
    metric = _quality_metric(gate)
    limit = gate.limit(metric) if metric else None
    cal = _Calibrated(prior, metric)
    tried: dict[str, Trial] = {}
    size_limit = gate.limit(Metric.SIZE)

    def undecided() -> list[Candidate]:
        out = []
        best = _best(res, goal)
        for c in order:
            if c.key in tried or c.key in res.pruned:
                continue
            if exhaustive:
                out.append(c)
                continue
            if goal is Goal.SMALLEST and best is not None and size_of(c) >= size_of(_cand(order, best.candidate)):
                res.pruned[c.key] = f"not smaller than {best.candidate}, which passed"
                continue
            p = cal(c)
            if limit is not None and p is not None and tried and p > limit * MARGIN:
                res.pruned[c.key] = f"predicted {metric.value} {p:.4g} > {MARGIN:g} x {limit:g}"  # type: ignore[union-attr]
                continue
            out.append(c)
        return out

    while True:
        todo = undecided()
        if not todo:
            break
        if exhaustive or goal is Goal.FASTEST:
            batch = todo[:max(1, parallel)]
        else:
            batch = _next_smallest(todo, cal, limit, parallel)
        for t in measure(batch):
            tried[t.candidate] = t
            res.trials.append(t)
            cal.learn(_cand(order, t.candidate), t.record)
        # size is known before quality: a size limit prunes what is larger than a measured size over it
        if size_limit is not None and not exhaustive:
            for t in res.trials:
                if t.size_bytes > size_limit:
                    for c in order:
                        if size_of(c) >= size_of(_cand(order, t.candidate)) and c.key not in tried:
                            res.pruned.setdefault(c.key, f"not smaller than {t.candidate}, over the size limit")
    res.best = _best(res, goal)
    res.reason = _reason(res, gate)
    return res


def _cand(order: list[Candidate], key: str) -> Candidate:
    return next(c for c in order if c.key == key)


def _next_smallest(todo: list[Candidate], cal: _Calibrated, limit: float | None, parallel: int) -> list[Candidate]:
    """The smallest candidates predicted to pass (else the best predicted), ``parallel`` of them."""
    if limit is None:
        return todo[:max(1, parallel)]
    preds = [(c, cal(c)) for c in todo]
    ok = [c for c, p in preds if p is None or p <= limit]
    if ok:
        # the largest of the "predicted to pass" is the safest anchor; the smallest the most
        # informative: take the smallest predicted to pass, then its neighbours above
        first = todo.index(ok[0])
        return todo[first:first + max(1, parallel)]
    return sorted(todo, key=lambda c: cal(c) or 0.0)[:max(1, parallel)]


def _best(res: SearchResult, goal: Goal) -> Trial | None:
    ok = [t for t in res.trials if t.passed]
    if not ok:
        return None
    if goal is Goal.FASTEST:
        fast = [t for t in ok if t.record.get("gen_tok_s")]
        return max(fast, key=lambda t: t.record["gen_tok_s"]) if fast else None
    smallest = min(t.size_bytes for t in ok)
    # sizes within SIZE_TIE of the smallest differ by metadata, not weights (GPTQ and RTN 8-bit of
    # one model: 264 bytes of 172 MB): the better quality of those is the answer
    tied = [t for t in ok if t.size_bytes <= smallest * (1 + SIZE_TIE)]
    return min(tied, key=lambda t: (t.record.get("kld_mean") if t.record.get("kld_mean") is not None else math.inf,
                                    t.size_bytes))


def _reason(res: SearchResult, gate: Gate) -> str:
    if res.best is not None:
        what = "smallest" if res.goal is Goal.SMALLEST else "fastest"
        return f"{res.best.candidate} is the {what} of {len(res.candidates)} candidates that passes {gate.text}"
    if not res.trials:
        return "no candidate was tried"
    # an impossible gate: the best it found and which condition failed
    near = min(res.trials, key=lambda t: (len((t.failed or "").split(";")), t.record.get("kld_mean") or math.inf))
    return (f"no candidate passes {gate.text}; the nearest was {near.candidate}, which failed "
            f"{near.failed or near.record.get('error')}")
