"""The prior tune orders its trials by: a predicted quality number (mean KLD,
Δppl) per candidate, before any work on it. Two sources, best first:

- the quantization error of a sample of the model's own weights at the
  candidate's types (tools/tune/weights.py), when the model's F16 is at hand;
- the bits per weight alone (quantization noise falls as 4^-bits).

The search calibrates the scale on its measured trials, so only the order and
the ratios between candidates matter here."""
from __future__ import annotations

from collections.abc import Callable

from lqmf.tools.metrics import Metric
from lqmf.tools.tune.candidates import Candidate

IMATRIX_GAIN = 0.8    # an importance matrix removes about a fifth of the error (measured: bench/imatrix_table.py)


def bpw_prior(cand: Candidate, metric: Metric) -> float:
    scale = IMATRIX_GAIN if cand.imatrix else 1.0
    return float(4.0 ** (-cand.bpw)) * scale


def prior_for(model: str | None = None) -> Callable[[Candidate, Metric], "float | None"]:
    """The best prior available for ``model`` (the weight-error one when its F16 is cached)."""
    if model:
        from lqmf.tools.tune.weights import weight_prior

        p = weight_prior(model)
        if p is not None:
            return p
    return bpw_prior
