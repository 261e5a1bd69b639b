"""GGUF backend: source → cached F16 GGUF → ``llama_model_quantize``.

Its declaration (``BACKEND``) is the one place the llama.cpp quant types and
their facts are written."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.errors import BackendFailed, MissingComponent
from lqmf.tools.quantize.registry import MB, ArtifactInfo, ArtifactSpec, Backend, RamFactor, Requires
from lqmf.tools.quantize.types import ArtifactFormat, BenchEngine, Layout, QuantMethod, QuantSpec

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress


def llama_quantize(src: Path, dst: Path, code: str, nthread: int | None = None,
                   allow_requantize: bool = False) -> None:
    """Call llama.cpp's quantizer on one file (blocking C call); ``code`` names
    the output type (LLAMA_FTYPE_MOSTLY_<code>)."""
    import ctypes

    from lqmf.tools.config import threads
    from lqmf.tools.llamacpp import load

    llama_cpp = load()
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{code}", None)
    if ftype is None:
        raise MissingComponent(f"this llama-cpp-python build has no {code}", "pick another type")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = nthread or threads()
    params.allow_requantize = allow_requantize
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise BackendFailed(f"llama.cpp could not quantize {src.name} to {code} (code {rc})",
                            "check that the input is a valid F16 GGUF")


def build_from_f16(source: ModelSource, spec: QuantSpec, out: Path, progress: Progress) -> dict:
    """The cached F16 GGUF of ``source``, quantized by llama.cpp to ``spec.code``."""
    from lqmf.tools.progress import FileGrowth, run_in_thread
    from lqmf.tools.quantize.convert import cached_sha256, f16_gguf

    f16 = f16_gguf(source, progress)
    expected = int(f16.stat().st_size * spec.bpw / 16)
    code = spec.code or spec.name
    with FileGrowth(out, expected, "quantize", progress):
        run_in_thread(lambda: llama_quantize(f16, out, code))
    progress("quantize", 1.0)
    return {"f16_path": str(f16), "f16_sha256": cached_sha256(f16)}


def read_gguf_artifact(path: Path) -> ArtifactInfo:
    from lqmf.tools.formats import read_gguf

    g = read_gguf(path)
    ctx = g.get(f"{g.architecture}.context_length")
    return ArtifactInfo(g.architecture, g.n_params, ctx if isinstance(ctx, int) and not isinstance(ctx, bool) else None)


def f16_shared(source: ModelSource) -> Path:
    from lqmf.tools.quantize.convert import f16_path

    return f16_path(source)


GGUF_FILE = ArtifactSpec(ArtifactFormat.GGUF, Layout.FILE, ".gguf", read_gguf_artifact)
# RAM per parameter while quantizing: the path may dequantize / convert to F16 first;
# from an F16 that is already cached, llama.cpp maps it and writes the output.
GGUF_NEEDS = Requires(ram=RamFactor(4.5, 700 * MB), ram_warm=RamFactor(3.0, 300 * MB))

_S = QuantSpec
BACKEND = Backend(
    name="llama.cpp", method=QuantMethod.GGUF, requires=GGUF_NEEDS, artifact=GGUF_FILE,
    build=build_from_f16, bench=BenchEngine.LLAMA_CPP, shared=f16_shared, rank=0,
    types=(
        _S("F16", 16, 16.0, "unquantized half precision; the reference", "F16", words=("fp16", "bf16"), pick=True),
        _S("Q8_0", 8, 8.5, "8-bit, nearly lossless", "Q8_0", pick=True, choice=3, tune=True),
        _S("Q6_K", 6, 6.56, "6-bit k-quant, very close to F16", "Q6_K", pick=True, choice=4, tune=True),
        _S("Q5_K_M", 5, 5.69, "5-bit k-quant, medium: high quality", "Q5_K_M", pick=True, choice=2, tune=True),
        _S("Q5_K_S", 5, 5.54, "5-bit k-quant, small", "Q5_K_S"),
        _S("Q5_1", 5, 6.0, "legacy 5-bit with offset", "Q5_1"),
        _S("Q5_0", 5, 5.5, "legacy 5-bit", "Q5_0"),
        _S("Q4_K_M", 4, 4.89, "4-bit k-quant, medium: the usual default", "Q4_K_M", pick=True, choice=1,
           tune=True),
        _S("Q4_K_S", 4, 4.58, "4-bit k-quant, small", "Q4_K_S"),
        _S("Q4_1", 4, 5.0, "legacy 4-bit with offset", "Q4_1"),
        _S("Q4_0", 4, 4.5, "legacy 4-bit, fast, lower quality", "Q4_0"),
        _S("IQ4_XS", 4, 4.25, "4-bit i-quant, non-linear grid", "IQ4_XS"),
        _S("IQ4_NL", 4, 4.5, "4-bit non-linear, 32-wide blocks", "IQ4_NL"),
        _S("Q3_K_L", 3, 4.27, "3-bit k-quant, large", "Q3_K_L"),
        _S("Q3_K_M", 3, 3.91, "3-bit k-quant, medium", "Q3_K_M", pick=True, tune=True),
        _S("Q3_K_S", 3, 3.5, "3-bit k-quant, small", "Q3_K_S"),
        _S("Q2_K", 2, 3.35, "2-bit k-quant, large quality loss", "Q2_K", pick=True),
        # i-quants below 4 bits: made by llama-quantize with an importance matrix
        # (tools/quantize/recipe.py); IQ2_XXS/IQ2_XS/IQ2_S are refused without one
        _S("IQ3_M", 3, 3.66, "3-bit i-quant mix (best with --imatrix)", "IQ3_M"),
        _S("IQ3_S", 3, 3.44, "3-bit i-quant (best with --imatrix)", "IQ3_S"),
        _S("IQ3_XS", 3, 3.3, "3-bit i-quant, extra small (best with --imatrix)", "IQ3_XS"),
        _S("IQ3_XXS", 3, 3.06, "3-bit i-quant, smallest (best with --imatrix)", "IQ3_XXS"),
        _S("IQ2_M", 2, 2.7, "2-bit i-quant mix (needs --imatrix)", "IQ2_M"),
        _S("IQ2_S", 2, 2.5, "2-bit i-quant (needs --imatrix)", "IQ2_S"),
        _S("IQ2_XS", 2, 2.31, "2-bit i-quant, extra small (needs --imatrix)", "IQ2_XS"),
        _S("IQ2_XXS", 2, 2.06, "2-bit i-quant, smallest (needs --imatrix)", "IQ2_XXS"),
    ))
