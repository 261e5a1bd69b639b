"""GGUF backend: source → cached F16 GGUF → ``llama_model_quantize``."""
from __future__ import annotations

import ctypes
from pathlib import Path

from lqmf.tools.config import threads
from lqmf.tools.llamacpp import load
from lqmf.tools.errors import BackendFailed, MissingComponent
from lqmf.tools.models import ModelSource
from lqmf.tools.progress import FileGrowth, Progress, run_in_thread
from lqmf.tools.quantize.convert import cached_sha256, f16_gguf
from lqmf.tools.quantize.registry import Backend
from lqmf.tools.quantize.types import SPECS, QuantMethod, QuantType


def llama_quantize(src: Path, dst: Path, qtype: QuantType, nthread: int | None = None,
                   allow_requantize: bool = False) -> None:
    """Call llama.cpp's quantizer on one file (blocking C call)."""
    llama_cpp = load()
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{SPECS[qtype].ftype}", None)
    if ftype is None:
        raise MissingComponent(f"this llama-cpp-python build has no {qtype.value}", "pick another type")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = nthread or threads()
    params.allow_requantize = allow_requantize
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise BackendFailed(f"llama.cpp could not quantize {src.name} to {qtype.value} (code {rc})",
                            "check that the input is a valid F16 GGUF")


class GGUFBackend(Backend):
    method = QuantMethod.GGUF
    suffix = ".gguf"

    def estimate_bytes(self, n_params: int, qtype: QuantType) -> int:
        return int(n_params * SPECS[qtype].bpw / 8) + (4 << 20)

    def build(self, source: ModelSource, qtype: QuantType, out: Path, progress: Progress) -> dict:
        f16 = f16_gguf(source, progress)
        n_params_bytes = f16.stat().st_size
        expected = int(n_params_bytes * SPECS[qtype].bpw / 16)
        with FileGrowth(out, expected, "quantize", progress):
            run_in_thread(lambda: llama_quantize(f16, out, qtype))
        progress("quantize", 1.0)
        return {"f16_path": str(f16), "f16_sha256": cached_sha256(f16)}
