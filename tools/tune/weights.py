"""Quality prediction before quantizing (quantization simulation).

1. Which type each tensor gets: llama.cpp's own answer, ``llama-quantize
   --dry-run`` on the cached F16 (0.1 s, nothing written): the k-quant mixes,
   the fallbacks for rows not divisible by 256 (on SmolLM2, whose rows are 576
   wide, most "Q4_K" tensors are really Q5_0), and the exact file size.
2. The error of each tensor at its type, on a sample of its rows: relative
   squared error ||W - Q(W)||² / ||W||². gguf-py quantizes Q4_0, Q4_1, Q5_0,
   Q5_1 and Q8_0 exactly like llama.cpp (it has no k-quant or i-quant
   quantizer, only their dequantizers), so those are exact; the k-quants are
   simulated here with their block layout (super-blocks of 256, sub-block
   scales and mins quantized to their bit widths) and round-to-nearest, and the
   i-quants by the k-quant of their bit width scaled by a factor (``IQ_FACTOR``).
3. Predicted value = the mean relative error over the tensors; the search and
   ``predict`` scale it to mean KLD / Δppl with the store's measured history of
   the same model (or the tune's own trials).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROWS = 48                   # rows sampled per tensor
LEGACY = ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0")
# i-quant -> (the k-quant simulated, a factor on its error): lattice codebooks beat
# round-to-nearest at the same width; the factors are rough, and said so in the report
IQ_FACTOR = {"iq3_s": ("q3_k", 0.8), "iq3_xxs": ("q3_k", 1.0),
             "iq2_s": ("q2_k", 1.0), "iq2_xs": ("q2_k", 1.1), "iq2_xxs": ("q2_k", 1.25)}
# relative weight error -> the gated number, before any trial of the model calibrates it:
# measured on the bundled SmolLM2 (Q2_K, Q3_K_M: mean KLD / error 26-37, Δppl % / error 2700-4200)
PER_ERROR = {"kld_mean": 30.0, "kld_p99": 200.0, "ppl_delta_pct": 3000.0}
_LINE = re.compile(r"\]\s+(\S+)\s+-\s+\[\s*([0-9, ]+)\].*?type =\s+(\w+),\s+size =\s+([0-9.]+) MiB"
                   r"(?:\s+->\s+([0-9.]+) MiB \((\w+)\))?")


@dataclass(frozen=True)
class TensorPlan:
    name: str
    src_type: str
    out_type: str
    out_mib: float


def dry_run(f16: Path, code: str, extra: tuple[str, ...] = ()) -> list[TensorPlan]:
    """llama-quantize --dry-run: each tensor's output type and size."""
    from lqmf.tools.quantize.recipe import tool_path

    proc = subprocess.run([str(tool_path()), "--dry-run", *extra, str(f16), code], capture_output=True, text=True,
                          timeout=120)
    out = []
    for line in (proc.stdout + proc.stderr).splitlines():
        m = _LINE.search(line)
        if m:
            name, _shape, src, mib, out_mib, out_t = m.groups()
            out.append(TensorPlan(name, src, (out_t or src).lower(), float(out_mib or mib)))
    return out


# ---- simulated quantizers (numpy), rows of a tensor -> dequantized rows ---------------
def _rtn(x, lo, hi, levels):
    """Round-to-nearest on ``levels`` steps between lo and hi (per block, broadcast)."""
    import numpy as np

    step = np.where(hi > lo, (hi - lo) / (levels - 1), 1.0)
    return lo + np.clip(np.round((x - lo) / step), 0, levels - 1) * step


def _quant_scale(s, bits):
    """Sub-block scales quantized to ``bits`` relative to the super-block's largest."""
    import numpy as np

    top = np.abs(s).max(axis=-1, keepdims=True)
    unit = np.where(top > 0, top / (2 ** bits - 1), 1.0)
    return np.round(s / unit) * unit


def _kquant(x, sub: int, bits: int, scale_bits: int, asym: bool):
    import numpy as np

    r, n = x.shape
    b = x.reshape(r, n // 256, 256 // sub, sub)
    if asym:
        lo = np.minimum(b.min(axis=-1, keepdims=True), 0)
        span = b.max(axis=-1, keepdims=True) - lo
        span = _quant_scale(span[..., 0], scale_bits)[..., None]
        lo = -_quant_scale(-lo[..., 0], scale_bits)[..., None]
        y = _rtn(b, lo, lo + span, 2 ** bits)
    else:
        amax = np.abs(b).max(axis=-1, keepdims=True)
        amax = _quant_scale(amax[..., 0], scale_bits)[..., None]
        half = 2 ** (bits - 1)
        step = np.where(amax > 0, amax / half, 1.0)
        y = np.clip(np.round(b / step), -half, half - 1) * step
    return y.reshape(r, n)


# llama.cpp's non-linear 4-bit grid (ggml-common.h kvalues_iq4nl)
IQ4_GRID = (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)


def _iq4(x):
    """IQ4_NL (and IQ4_XS, whose 6-bit sub-scales are not simulated): blocks of 32 on
    the non-linear grid, the block scale searched around max / 127 (as llama.cpp does)."""
    import numpy as np

    r, n = x.shape
    b = x.reshape(r, n // 32, 32)
    grid = np.array(IQ4_GRID, dtype=np.float32)
    amax_i = np.abs(b).argmax(axis=-1)[..., None]
    peak = np.take_along_axis(b, amax_i, axis=-1)
    best, best_err = None, None
    for f in (0.95, 1.0, 1.05):
        d = np.where(peak != 0, peak / -127 * f, 1.0)
        q = grid[np.abs(b[..., None] / d[..., None] - grid).argmin(axis=-1)] * d
        err = ((b - q) ** 2).sum(axis=-1, keepdims=True)
        if best is None:
            best, best_err = q, err
        else:
            take = err < best_err
            best, best_err = np.where(take, q, best), np.minimum(err, best_err)
    return best.reshape(r, n)


K_SIM = {"q6_k": (16, 6, 8, False), "q5_k": (32, 5, 6, True), "q4_k": (32, 4, 6, True),
         "q3_k": (16, 3, 6, False), "q2_k": (16, 2, 4, True)}


def simulate(x, ggml_type: str):
    """Rows ``x`` (float32, r × n) after quantizing to ``ggml_type`` and back."""
    import numpy as np

    t = ggml_type.lower()
    if t in ("f32", "f16", "bf16"):
        return x
    if t in LEGACY:
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize, quantize

        qt = GGMLQuantizationType[t.upper()]
        return dequantize(quantize(x, qt), qt).reshape(x.shape)
    if t in ("iq4_nl", "iq4_xs"):
        return _iq4(x)
    base, factor = IQ_FACTOR.get(t, (t, 1.0))
    if base not in K_SIM or x.shape[1] % 256:
        raise ValueError(f"no simulation for {ggml_type} on rows of {x.shape[1]}")
    y = _kquant(x, *K_SIM[base])
    return x + (y - x) * np.sqrt(factor)


def rel_error(x, ggml_type: str) -> float:
    import numpy as np

    y = simulate(x, ggml_type)
    den = float((x.astype(np.float64) ** 2).sum())
    return float(((x - y).astype(np.float64) ** 2).sum() / den) if den else 0.0


@lru_cache(maxsize=8)
def _samples(f16: str, mtime: int) -> dict[str, object]:
    """name -> sampled rows (float32) of every 2-D weight of the F16 file."""
    import numpy as np
    from gguf import GGUFReader

    reader = GGUFReader(f16)
    out: dict[str, object] = {}
    for t in reader.tensors:
        data = t.data
        if data.ndim != 2 or not t.name.endswith(".weight"):
            continue
        idx = np.linspace(0, data.shape[0] - 1, num=min(ROWS, data.shape[0])).astype(int)
        out[t.name] = np.asarray(data[idx], dtype=np.float32)
    return out


@dataclass
class Prediction:
    quant_type: str
    error: float                    # mean relative squared error over the quantized tensors
    size_bytes: int                 # llama-quantize's own size for the file's tensors
    types: dict[str, int]           # ggml type -> how many tensors get it


def predict_error(f16: Path, quant_type: str, recipe: dict[str, str] | None = None) -> Prediction:
    """The simulated error of ``quant_type`` (with a recipe's overrides) on ``f16``."""
    from lqmf.tools.quantize.recipe import arguments
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import QuantMethod

    spec = current().spec(quant_type)
    if spec.method is not QuantMethod.GGUF:          # the transformers path: hf_sim.py
        from lqmf.tools.tune.hf_sim import hf_error, hf_size

        if recipe:
            raise ValueError(f"{quant_type} takes no imatrix or tensor overrides")
        return Prediction(quant_type, hf_error(f16, quant_type), hf_size(f16, quant_type), {spec.name.lower(): 1})
    extra = tuple(a for a in arguments({k: v for k, v in (recipe or {}).items() if k.startswith("tensor:")}, None))
    plan = dry_run(f16, spec.code or spec.name, extra)
    samples = _samples(str(f16), f16.stat().st_mtime_ns)
    errs: list[float] = []
    counts: dict[str, int] = {}
    for p in plan:
        x = samples.get(p.name)
        if x is None:
            continue
        counts[p.out_type] = counts.get(p.out_type, 0) + 1
        errs.append(rel_error(x, p.out_type))
    err = sum(errs) / len(errs) if errs else 0.0
    if recipe and recipe.get("imatrix"):
        from lqmf.tools.tune.predict import IMATRIX_GAIN

        err *= IMATRIX_GAIN
    return Prediction(quant_type, err, int(sum(p.out_mib for p in plan) * (1 << 20)), counts)


def f16_of(model: str) -> Path | None:
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.convert import f16_path

    try:
        p = f16_path(resolve(model))
    except Exception:  # noqa: BLE001 - no prediction for a model we cannot resolve
        return None
    return p if p.is_file() else None


def weight_prior(model: str):
    """A tune prior from simulated weight error (None when the F16 or llama-quantize is missing)."""
    from lqmf.tools.errors import LqmfError

    f16 = f16_of(model)
    if f16 is None:
        return None
    try:
        from lqmf.tools.quantize.recipe import tool_path

        tool_path()
    except LqmfError:
        return None
    cache: dict[str, float | None] = {}

    def prior(cand, metric) -> float | None:
        if cand.key not in cache:
            try:
                cache[cand.key] = predict_error(f16, cand.quant_type, cand.recipe()).error
            except (LqmfError, ValueError, OSError, ImportError):
                cache[cand.key] = None        # this one from the bits per weight
        err = cache[cand.key]
        if err is None:
            from lqmf.tools.tune.predict import bpw_prior

            return bpw_prior(cand, metric)
        return err * PER_ERROR.get(metric.value, 1.0)

    return prior
