"""Quality prediction for the transformers-path methods (bitsandbytes, GPTQ),
the counterpart of weights.py's llama.cpp simulation, on the same sampled rows
of the cached F16 weights.

- bitsandbytes: its own quantizer, run on CPU (``quantize_4bit`` /
  ``dequantize_4bit``: NF4 and FP4 in blocks of 64, double-quantized scales for
  the _DQ types; ``int8_vectorwise_quant``: LLM.int8's row-wise absmax), so
  these errors are the library's, not a re-implementation.
- GPTQ's format: round-to-nearest, asymmetric, per group along the input width
  (the backend's declared group size for this model), exact for the RTN types;
  for the calibrated GPTQ and AWQ types that error times ``GPTQ_FACTOR`` (GPTQ's
  error feedback, AWQ's scale search remove part of it; a rough factor, said so
  in the report).

Both leave the embeddings and the output head dense (``Compat.dense_bits``):
those tensors count with no error, so the mean is over the same tensors as the
GGUF prediction's."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

DENSE = ("token_embd.weight", "output.weight")
GPTQ_FACTOR = 0.6


def _bnb(x, code: str):
    import numpy as np
    import torch
    from bitsandbytes import functional as F

    w = torch.from_numpy(np.ascontiguousarray(x))
    kind, _, dq = code.partition("+")
    if kind == "int8":
        ca, scb, _ = F.int8_vectorwise_quant(w.half())
        return (ca.float() * scb[:, None].float() / 127).numpy()
    q, state = F.quantize_4bit(w, blocksize=64, quant_type=kind, compress_statistics=dq == "dq")
    return F.dequantize_4bit(q, state).numpy()


def _rtn(x, bits: int, group: int):
    import numpy as np

    r, n = x.shape
    g = x.reshape(r, n // group, group)
    lo, hi = g.min(axis=-1, keepdims=True), g.max(axis=-1, keepdims=True)
    levels = 2 ** bits - 1
    scale = np.where(hi > lo, (hi - lo) / levels, 1.0)
    zero = np.round(-lo / scale)
    q = np.clip(np.round(g / scale) + zero, 0, levels)
    return ((q - zero) * scale).reshape(r, n)


def hf_error(f16: Path, quant_type: str) -> float:
    """The mean relative squared weight error of a bitsandbytes or GPTQ-format type on ``f16``
    (ValueError: a type this module cannot simulate, or no group size fits)."""
    import numpy as np

    from lqmf.tools.quantize.gptq_build import code_parts
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import QuantMethod
    from lqmf.tools.tune.weights import _samples

    reg = current()
    spec, backend = reg.spec(quant_type), reg.backend_of(quant_type)
    samples = _samples(str(f16), f16.stat().st_mtime_ns)
    errs = []
    group = backend.group_size(x.shape[1] for n, x in samples.items() if n not in DENSE)  # type: ignore[attr-defined]
    for name, x in samples.items():
        if name in DENSE:
            errs.append(0.0)
            continue
        if backend.method is QuantMethod.BNB:
            y = _bnb(x, spec.code or spec.name.lower())
        elif backend.method in (QuantMethod.GPTQ, QuantMethod.AWQ):
            if group is None:
                raise ValueError(f"no {backend.method.value} group size divides the widths of {f16.name}")
            bits, kind = code_parts(spec)
            y = _rtn(x, bits, group)
            if kind != "rtn":   # GPTQ's error feedback, AWQ's scale search: part of the rounding error removed
                y = x + (y - x) * np.sqrt(GPTQ_FACTOR)
        else:
            raise ValueError(f"no simulation for {quant_type}")
        den = float((np.asarray(x, dtype=np.float64) ** 2).sum())
        errs.append(float(((x - y).astype(np.float64) ** 2).sum() / den) if den else 0.0)
    return sum(errs) / len(errs) if errs else 0.0


@lru_cache(maxsize=8)
def _counts(f16: str, mtime: int) -> tuple[int, int]:
    """(parameters, of which in the embeddings and output head) of the F16 file."""
    from gguf import GGUFReader

    total = dense = 0
    for t in GGUFReader(f16).tensors:
        n = int(t.n_elements)
        total += n
        dense += n if t.name in DENSE else 0
    return total, dense


def hf_size(f16: Path, quant_type: str) -> int:
    """The backend's own size estimate for this model's artifact at ``quant_type``."""
    from lqmf.tools.quantize.registry import current

    reg = current()
    n, dense = _counts(str(f16), f16.stat().st_mtime_ns)
    return reg.backend_of(quant_type).estimate_bytes(n, reg.spec(quant_type), dense)
