"""Quality prediction before quantizing. The prior tune orders its trials by,
and ``lqmf predict``: a candidate's simulated weight error (weights.py), scaled
to mean KLD and Δppl by the model's measured history (the experiment store's
benchmark records and the trial journal: the median of measured / simulated,
in log space). Without the F16 or llama-quantize, the bits per weight alone
(quantization noise falls as 4^-bits).

The search calibrates the scale on its own trials, so for it only the order and
the ratios between candidates matter."""
from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lqmf.tools.metrics import Metric
from lqmf.tools.tune.candidates import Candidate

# the error left with an importance matrix: measured on SmolLM2 Q4_K_M calibrated on the code text,
# mean KLD 0.0339 vs 0.0540 plain on jargon-prose, 8 x 512 tokens (bench/imatrix_table.py)
IMATRIX_GAIN = 0.65


# 4^-bpw -> the gated number before any trial calibrates it (SmolLM2: Q4_K_M 4^-4.89 ≈ 0.0011, KLD ≈ 0.06)
PER_NOISE = {"kld_mean": 50.0, "kld_p99": 350.0, "ppl_delta_pct": 5000.0}


def bpw_prior(cand: Candidate, metric: Metric) -> float:
    scale = IMATRIX_GAIN if cand.imatrix else 1.0
    return float(4.0 ** (-cand.bpw)) * scale * PER_NOISE.get(metric.value, 1.0)


def prior_for(model: str | None = None) -> Callable[[Candidate, Metric], "float | None"]:
    """The best prior available for ``model`` (the weight-error one when its F16 is cached)."""
    if model:
        from lqmf.tools.tune.weights import weight_prior

        p = weight_prior(model)
        if p is not None:
            return p
    return bpw_prior


@dataclass
class Predicted:
    model: str
    quant_type: str
    recipe: dict[str, str]
    error: float | None                  # simulated relative weight error (None: bpw only)
    size_bytes: int | None
    kld_mean: float | None = None
    ppl_delta_pct: float | None = None
    basis: str = ""
    history: int = 0                     # measured runs the scale came from
    types: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _key(quant_type: str, recipe: dict | None) -> Candidate:
    imatrix = (recipe or {}).get("imatrix")
    overrides = tuple(sorted((k[7:], v) for k, v in (recipe or {}).items() if k.startswith("tensor:")))
    return Candidate(quant_type, imatrix, overrides)


def scale_from(history: Iterable[dict], error_of: Callable[[Candidate], "float | None"],
               metric: Metric, exclude: str | None = None) -> tuple[float | None, int]:
    """The factor measured / simulated for ``metric`` over the history (records as dicts),
    leaving out candidate ``exclude`` (a held-out prediction); (None, 0) without history."""
    logs = []
    seen = set()
    for r in history:
        qt = r.get("quant_type")
        m = r.get(metric.value)
        if not qt or not isinstance(m, (int, float)) or m <= 0 or r.get("error"):
            continue
        c = _key(qt, {k: v for k, v in (r.get("recipe") or {}).items() if k != "imatrix_sha256"})
        if c.key == exclude or c.key in seen:
            continue
        seen.add(c.key)
        e = error_of(c)
        if e and e > 0:
            logs.append(math.log(m / e))
    if not logs:
        return None, 0
    return math.exp(statistics.median(logs)), len(logs)


def history_of(model: str, records: Iterable[dict]) -> list[dict]:
    """Benchmark records of this model that measured KLD (the store's and the trial journal's)."""
    from lqmf.tools.tune.trials import done_trials

    rows = [r for r in records if r.get("kind") == "benchmark" and r.get("kld_mean") is not None
            and model in (r.get("model_name"), r.get("model"))]
    rows += [r for k, r in done_trials().items() if k.split("|", 1)[0] == model and r.get("kld_mean") is not None]
    return rows


def predict(model: str, quant_type: str, recipe: dict | None = None, records: Iterable[dict] = ()) -> Predicted:
    """A candidate's predicted mean KLD and Δppl, before any work on it."""
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize.recipe import normalize
    from lqmf.tools.quantize.types import parse_quant_type
    from lqmf.tools.tune.weights import f16_of, predict_error

    qt = parse_quant_type(quant_type).value
    recipe = normalize(recipe)
    cand = _key(qt, recipe)
    f16 = f16_of(model)
    out = Predicted(model, qt, recipe, None, None)
    cache: dict[str, float | None] = {}

    if f16 is not None:
        base = f16
        try:
            p = predict_error(base, qt, recipe)
            out.error, out.size_bytes, out.types = p.error, p.size_bytes, p.types
            out.basis = "simulated weight error (llama-quantize --dry-run types, sampled rows)"

            def error_of(c: Candidate) -> float | None:
                if c.key not in cache:
                    try:
                        cache[c.key] = predict_error(base, c.quant_type, c.recipe()).error
                    except (LqmfError, ValueError, ImportError):
                        cache[c.key] = None
                return cache[c.key]
        except (LqmfError, ValueError, ImportError):   # a type neither simulation knows: bits per weight
            f16 = None
    if f16 is None:
        out.error = float(4.0 ** (-cand.bpw))
        out.basis = "bits per weight only (no F16 of the model cached, or llama-quantize not built)"

        def error_of(c: Candidate) -> float | None:
            return float(4.0 ** (-c.bpw))
    hist = history_of(model, records)
    for metric, attr in ((Metric.KLD_MEAN, "kld_mean"), (Metric.PPL_DELTA_PCT, "ppl_delta_pct")):
        k, n = scale_from(hist, error_of, metric)
        if k is not None and out.error is not None:
            setattr(out, attr, out.error * k)
            out.history = max(out.history, n)
    return out
