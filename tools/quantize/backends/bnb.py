"""bitsandbytes: NF4 and FP4 (4-bit, with or without double quantization)
and LLM.int8(), through transformers, saved as a safetensors HF folder.

The builder lives in ``tools/quantize/bnb_build.py`` (torch, transformers and
bitsandbytes are imported only when a run starts)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.quantize.registry import MB, ArtifactInfo, ArtifactSpec, Backend, Compat, RamFactor, Requires
from lqmf.tools.quantize.types import ArtifactFormat, BenchEngine, Layout, QuantMethod, QuantSpec

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress


def read_hf_folder(path: Path) -> ArtifactInfo:
    from lqmf.tools.models import read_config

    cfg = read_config(path)  # one sentence when it is not a model folder
    archs = cfg.get("architectures") or ["unknown"]
    return ArtifactInfo(str(archs[0]), 0, cfg.get("max_position_embeddings"))


def build(source: ModelSource, spec: QuantSpec, out: Path, progress: Progress) -> dict:
    from lqmf.tools.quantize.bnb_build import build_bnb

    return build_bnb(source, spec, out, progress, BACKEND)


_S = QuantSpec
_DQ = r"(?:dq|double[ -]?quant(?:ization|ized|ised|isation)?)"
_WITH_DQ = rf" ?(?:\+|with|w/|and|plus)? ?(?:the )?{_DQ}"
# code: the bitsandbytes quant type, "+dq" for double quantization (the absmax of
# each 64-weight block quantized again to 8 bits: about 0.37 bits per weight less)
BACKEND = Backend(
    name="bitsandbytes", method=QuantMethod.BNB, build=build, bench=BenchEngine.TRANSFORMERS, rank=10,
    # transformers holds the dense model in float32 while bitsandbytes quantizes it
    requires=Requires(ram=RamFactor(6.0, 900 * MB), extras=("bitsandbytes", "accelerate"), extra="bnb", in_ram=True),
    # the embeddings and the output head stay in the float32 they were loaded in; bitsandbytes
    # quantizes any width (flat blocks of 64), so every architecture transformers loads
    compat=Compat(dense_bits=32),
    artifact=ArtifactSpec(ArtifactFormat.SAFETENSORS, Layout.FOLDER, "", read_hf_folder),
    types=(
        _S("NF4", 4, 4.5, "bitsandbytes 4-bit NormalFloat", "nf4", words=(r"normal ?float(?: ?4)?",), pick=True),
        _S("NF4_DQ", 4, 4.13, "bitsandbytes 4-bit NormalFloat, double-quantized scales", "nf4+dq",
           words=(rf"nf4{_WITH_DQ}", rf"{_DQ}(?: nf4)?"), refines="NF4"),
        _S("FP4", 4, 4.5, "bitsandbytes 4-bit float", "fp4"),
        _S("FP4_DQ", 4, 4.13, "bitsandbytes 4-bit float, double-quantized scales", "fp4+dq",
           words=(rf"fp4{_WITH_DQ}", rf"{_DQ} fp4"), refines="FP4"),
        _S("INT8", 8, 8.5, "bitsandbytes LLM.int8()", "int8", words=(r"llm\.int8",), pick=True),
    ))
