"""The bitsandbytes builder: a dense HF model -> NF4/FP4 (optionally double
quantized) or LLM.int8() through transformers -> a safetensors HF folder,
reloaded and checked against the in-memory quantized model before it is kept.

On a CPU with AVX512-BF16, bitsandbytes 0.49-0.50's first 4-bit forward pass
repacks each ``Linear4bit`` (``_convert_weight_packed_for_cpu``: absmax
transposed, cast to bf16) and ``save_pretrained`` transposes the absmax back
only when it was double-quantized, so a plain NF4/FP4 model saved after a
forward pass holds a transposed absmax. Every ``Linear4bit`` here has
``support_avx512bf16_for_cpu`` turned off before its first forward, on the
model we save and on the reloaded one we compare it with: the saved tensors
are then the ones bitsandbytes quantized, and the comparison is exact.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import CorruptFile, from_backend

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress
    from lqmf.tools.quantize.registry import Backend
    from lqmf.tools.quantize.types import QuantSpec

# the reloaded artifact's logits must match the in-memory quantized model's within this
# (max absolute difference; both run the same kernels on the same saved tensors, so 0 is expected)
RELOAD_TOLERANCE = 1e-3
PROBE_TEXT = "The quick brown fox jumps over the lazy dog. Quantization keeps the model small."
PROBE_TOKENS = 16


def bnb_config(spec: QuantSpec) -> Any:
    import torch
    from transformers import BitsAndBytesConfig

    code = spec.code or spec.name.lower()
    kind, _, extra = code.partition("+")
    if kind == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=kind, bnb_4bit_use_double_quant=extra == "dq",
                              bnb_4bit_compute_dtype=torch.float32)


def no_cpu_repack(model: Any) -> int:
    """Turn off the AVX512-BF16 repacking on every Linear4bit (before any forward); how many."""
    import bitsandbytes as bnb

    n = 0
    for m in model.modules():
        if isinstance(m, bnb.nn.Linear4bit):
            m.support_avx512bf16_for_cpu = False
            n += 1
    return n


def load(path: Path, **kw: Any) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(path, device_map="cpu", **kw)
    except (ValueError, KeyError, RuntimeError, OSError, ImportError) as e:
        raise from_backend(e, "transformers could not load the model") from None
    no_cpu_repack(model)
    model.eval()
    return model


def logits(model: Any, ids: Any) -> Any:
    import torch

    with torch.inference_mode():
        return model(ids).logits.float()


def build_bnb(source: ModelSource, spec: QuantSpec, out: Path, progress: Progress, backend: Backend) -> dict:
    import time

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lqmf.tools.models import inspect
    from lqmf.tools.quantize.convert import dense_dir
    from lqmf.tools.quantize.ram import check_ram

    need = check_ram(backend, inspect(source).n_params)  # quantize() checked it before the lock; again now
    dense = dense_dir(source, progress)

    import bitsandbytes
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # lqmf shows its own progress

    progress("quantize", None)
    t0 = time.perf_counter()
    model = load(dense, quantization_config=bnb_config(spec))
    quantize_s = time.perf_counter() - t0
    tok = AutoTokenizer.from_pretrained(dense)
    ids = tok(PROBE_TEXT, return_tensors="pt").input_ids[:, :PROBE_TOKENS]
    ref = logits(model, ids)
    try:
        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
    except (ValueError, RuntimeError, NotImplementedError) as e:
        raise from_backend(e, f"bitsandbytes could not save the {spec.name} model") from None
    del model
    progress("quantize", 1.0)

    progress("verify", None)
    diff = float((logits(load(out), ids) - ref).abs().max())
    if not diff <= RELOAD_TOLERANCE:  # also NaN
        raise CorruptFile(f"the saved {spec.name} model does not reproduce the quantized model "
                          f"(logits differ by {diff:.4g}, more than {RELOAD_TOLERANCE:g}), so it was not kept",
                          f"report this with your bitsandbytes version ({bitsandbytes.__version__})")
    progress("verify", 1.0)
    from lqmf.tools.quantize.convert import cached_sha256, f16_gguf

    f16 = f16_gguf(source, progress)  # the benchmark's baseline: the same F16 the GGUF types are scored against
    return {"f16_path": str(f16), "f16_sha256": cached_sha256(f16), "dense_path": str(dense), "bitsandbytes": bitsandbytes.__version__,
            "bnb_quant_type": spec.code, "double_quant": (spec.code or "").endswith("+dq"),
            "ram_estimate_bytes": need, "quantize_s": round(quantize_s, 2),
            "reload_check": {"tokens": int(ids.shape[1]), "max_abs_logit_diff": diff,
                             "tolerance": RELOAD_TOLERANCE}}
