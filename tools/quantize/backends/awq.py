"""AWQ (activation-aware weight quantization) through GPTQModel, 4 bits: the scales of
the weights that meet large activations are searched on calibration text before rounding.
Saved as a safetensors HF folder (GEMM format) that loads with transformers and with
GPTQModel, like GPTQ; the builder is GPTQ's (``tools/quantize/gptq_build.py``), with AWQ's
config and, without CUDA, GPTQModel's torch kernel (its default, CUDA's GEMM, refuses a CPU).

Slow on CPU: the scale search runs each layer's modules on the calibration tokens for
every candidate ratio (bench/awq_cpu_probe.py)."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from lqmf.tools.quantize.backends import gptq
from lqmf.tools.quantize.backends.bnb import read_hf_folder
from lqmf.tools.quantize.registry import ArtifactSpec, Backend
from lqmf.tools.quantize.types import ArtifactFormat, BenchEngine, Layout, QuantMethod, QuantSpec

if TYPE_CHECKING:
    from pathlib import Path

    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress


def build(source: ModelSource, spec: QuantSpec, out: Path, progress: Progress,
          recipe: dict[str, str] | None = None) -> dict:
    """``recipe``: group_size and calibration as for GPTQ (tools/quantize/recipe.py)."""
    from lqmf.tools.quantize.gptq_build import build_gptq

    return build_gptq(source, spec, out, progress, BACKEND, recipe)


# code: the bit width and "+awq"; bpw: 4 bits plus, per group, a float16 scale and a packed zero point
BACKEND = Backend(
    name="GPTQModel AWQ", method=QuantMethod.AWQ, build=build, bench=BenchEngine.TRANSFORMERS, rank=25,
    # GPTQ's needs and kernels' rule (the group size divides every matrix's input width), its own speed
    requires=gptq.REQUIRES,
    compat=replace(gptq.COMPAT, expect="quantizing is very slow on CPU: AWQ 4-bit of the 135M smollm2 took 22 min "
                                       "on 2 cores (128 x 128 calibration tokens); on a CUDA GPU it takes minutes"),
    artifact=ArtifactSpec(ArtifactFormat.SAFETENSORS, Layout.FOLDER, "", read_hf_folder),
    types=(
        QuantSpec("AWQ_4BIT", 4, 4.16, "AWQ 4-bit (GPTQModel, activation-aware, calibrated)", "4+awq",
                  words=(r"awq ?4 ?-?bits?", r"4 ?-?bits? awq"), pick=True),
    ))
