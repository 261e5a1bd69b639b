"""bitsandbytes: its quant types are declared (the parser, the plan and the
explanations know them), but this version has no builder, so quantizing to
them is refused with one sentence (``Backend.check_ready``)."""
from __future__ import annotations

from pathlib import Path

from lqmf.tools.quantize.registry import MB, ArtifactInfo, ArtifactSpec, Backend, RamFactor, Requires
from lqmf.tools.quantize.types import ArtifactFormat, Layout, QuantMethod, QuantSpec


def read_hf_folder(path: Path) -> ArtifactInfo:
    from lqmf.tools.models import read_config

    cfg = read_config(path)  # one sentence when it is not a model folder
    archs = cfg.get("architectures") or ["unknown"]
    return ArtifactInfo(str(archs[0]), 0, cfg.get("max_position_embeddings"))


_S = QuantSpec
BACKEND = Backend(
    name="bitsandbytes", method=QuantMethod.BNB, build=None, rank=10,
    # torch holds the model in float32 plus calibration buffers
    requires=Requires(ram=RamFactor(6.0, 900 * MB), extras=("bitsandbytes", "accelerate"), extra="bnb"),
    artifact=ArtifactSpec(ArtifactFormat.SAFETENSORS, Layout.FOLDER, "", read_hf_folder),
    types=(
        _S("NF4", 4, 4.5, "bitsandbytes 4-bit NormalFloat", words=(r"normal ?float(?: ?4)?",), pick=True),
        _S("FP4", 4, 4.5, "bitsandbytes 4-bit float"),
        _S("INT8", 8, 8.5, "bitsandbytes LLM.int8()", words=(r"llm\.int8",), pick=True),
    ))
