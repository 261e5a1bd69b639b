"""GPTQ through GPTQModel (the maintained successor of the archived auto-gptq):
2, 3, 4 and 8 bits, calibrated on the held-out part of the evaluation text,
saved as a safetensors HF folder that loads with transformers (plus optimum)
and with GPTQModel; and round-to-nearest (RTN) at 4 and 8 bits in the same
format, the no-calibration baseline GPTQ is measured against.

The builder lives in ``tools/quantize/gptq_build.py`` (torch, transformers and
gptqmodel are imported only when a run starts)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from lqmf.tools.quantize.backends.bnb import read_hf_folder
from lqmf.tools.quantize.registry import MB, ArtifactSpec, Backend, Compat, RamFactor, Requires
from lqmf.tools.quantize.types import ArtifactFormat, BenchEngine, Layout, QuantMethod, QuantSpec

if TYPE_CHECKING:
    from pathlib import Path

    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress


def build(source: ModelSource, spec: QuantSpec, out: Path, progress: Progress,
          recipe: dict[str, str] | None = None) -> dict:
    """``recipe``: GPTQ's options (group_size, desc_act, calibration; tools/quantize/recipe.py)."""
    from lqmf.tools.quantize.gptq_build import build_gptq

    return build_gptq(source, spec, out, progress, BACKEND, recipe)


# the model types GPTQModel 7.6 has a definition for (its MODEL_MAP), as transformers names them,
# plus the GGUF spellings of the same architectures (a GGUF source is dequantized through transformers)
ARCHITECTURES = ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "gemma", "gemma2", "gemma3",
                 "gemma3_text", "phi", "phi3", "granite", "olmo2", "starcoder2", "gpt2", "gptj", "gpt_neox",
                 "gptneox", "opt", "bloom", "falcon", "stablelm", "internlm2", "cohere", "command-r", "exaone",
                 "glm4", "smollm3", "deepseek_v3")

GPTQMODEL = "gptqmodel==7.6.0"

_S = QuantSpec
_RTN = r"(?:rtn|round(?:ed|ing)?[ -]to[ -]nearest)"
_AT = r"(?: (?:at|with|in|to))? ?"
# code: the bit width, "+rtn" for round-to-nearest (GPTQModel's weight-only path, no calibration).
# bpw: the bits plus, per group of 128 weights, a float16 scale and a packed zero point.
# what GPTQModel needs, for each method it makes (GPTQ here, AWQ in backends/awq.py): the dense float32
# model, the per-layer statistics and the calibration activations in RAM; gptqmodel itself without its
# dependencies: 7.6.0 (the last release for torch 2.13) pins numpy==2.2.6, which would downgrade numpy
# under everything else; it runs on the numpy installed
REQUIRES = Requires(ram=RamFactor(8.0, 1500 * MB), extras=("gptqmodel", "optimum"), extra="gptq", in_ram=True,
                    install=f"pip install 'lqmf[gptq]' && pip install --no-deps {GPTQMODEL}")
# GPTQModel's CPU kernels (torch's int4pack matmul) need the group size to divide every matrix's
# input width: smollm2's 576 takes 64, not 128. Embeddings and the tied head stay 16-bit (bfloat16).
COMPAT = Compat(architectures=ARCHITECTURES, group_sizes=(128, 64, 32), dense_bits=16,
                expect="quantizing is slow on CPU: GPTQ 4-bit of the 135M smollm2 took 12 min on 2 busy cores "
                       "(128 x 128 calibration tokens), round-to-nearest 40 s")
BACKEND = Backend(
    name="GPTQModel", method=QuantMethod.GPTQ, build=build, bench=BenchEngine.TRANSFORMERS, rank=20,
    requires=REQUIRES, compat=COMPAT,
    artifact=ArtifactSpec(ArtifactFormat.SAFETENSORS, Layout.FOLDER, "", read_hf_folder),
    types=(
        _S("GPTQ_4BIT", 4, 4.16, "GPTQ 4-bit (GPTQModel, calibrated)", "4", words=(r"gptq ?4 ?-?bits?",), pick=True),
        _S("GPTQ_8BIT", 8, 8.19, "GPTQ 8-bit (GPTQModel, calibrated)", "8", words=(r"gptq ?8 ?-?bits?",), pick=True),
        _S("GPTQ_3BIT", 3, 3.15, "GPTQ 3-bit (GPTQModel, calibrated)", "3", words=(r"gptq ?3 ?-?bits?",), pick=True),
        _S("GPTQ_2BIT", 2, 2.14, "GPTQ 2-bit (GPTQModel, calibrated; expect a large quality loss)", "2",
           words=(r"gptq ?2 ?-?bits?",), pick=True),
        _S("RTN_4BIT", 4, 4.16, "round-to-nearest 4-bit in the GPTQ format (no calibration)", "4+rtn",
           words=(rf"{_RTN}{_AT}4 ?-?bits?", rf"4 ?-?bits? {_RTN}")),
        _S("RTN_8BIT", 8, 8.19, "round-to-nearest 8-bit in the GPTQ format (no calibration)", "8+rtn",
           words=(rf"{_RTN}{_AT}8 ?-?bits?", rf"8 ?-?bits? {_RTN}")),
    ))
