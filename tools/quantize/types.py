"""Quantization methods and quant types: the domain words and the shape of
their facts. Which quant types exist is not written here: each backend
declares its own (``tools.quantize.registry``), and everything else (the
parser's vocabulary, the plan's tables, size and memory estimates) is derived
from those declarations."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class QuantMethod(StrEnum):
    """The user's word for a family of quantizers (one or more backends each)."""
    GGUF = "gguf"
    BNB = "bnb"
    GPTQ = "gptq"
    AWQ = "awq"


METHOD_ALIASES = {"bitsandbytes": "bnb", "llama.cpp": "gguf", "llamacpp": "gguf", "autogptq": "gptq"}


class QuantType(str):
    """A quant type's canonical name ("Q4_K_M"). The set of names is open: a
    backend declares the ones it makes, and ``registry.parse_quant_type`` is the
    only way from user text to a QuantType."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)


class Device(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


class Layout(StrEnum):
    """How an artifact lies on disk."""
    FILE = "file"          # one file (GGUF)
    FOLDER = "folder"      # an HF folder (config.json + safetensors)


class ArtifactFormat(StrEnum):
    GGUF = "gguf"
    SAFETENSORS = "safetensors"


class BenchEngine(StrEnum):
    """What the benchmark runs an artifact with."""
    LLAMA_CPP = "llama.cpp"
    TRANSFORMERS = "transformers"   # an HF folder, through tools/benchmark/hf_engine.py


@dataclass(frozen=True)
class QuantSpec:
    """One quant type as its backend declares it."""
    name: str
    bits: int                     # the nominal bit width users speak of
    bpw: float                    # bits per weight in the file, for size estimates
    summary: str
    code: str | None = None       # the backend's own name for it (llama.cpp: LLAMA_FTYPE_MOSTLY_<code>)
    words: tuple[str, ...] = ()   # other spellings the parser reads (regexes on lower-case text)
    pick: bool = False            # the type meant by "N bits" with this method
    choice: int = 0               # > 0: offered, in this order, when the copilot asks for a type
    tune: bool = False            # a candidate when tuning toward a quality limit
    refines: str | None = None    # the type this one is a setting of (NF4_DQ: NF4): "nf4, with double quant"
    method: QuantMethod | None = None   # filled in by the backend that declares it

    @property
    def type(self) -> QuantType:
        return QuantType(self.name)


def parse_quant_type(text: str, method: QuantMethod | None = None) -> QuantType:
    """``q4_k_m``, ``Q4-K-M``, ``q4km`` -> "Q4_K_M" among the current registry's types."""
    from lqmf.tools.quantize.registry import current

    return current().parse_quant_type(text, method)


def parse_method(text: str) -> QuantMethod:
    from lqmf.tools.quantize.registry import current

    return current().parse_method(text)


def quant_types() -> list[QuantType]:
    """Every quant type the current registry's backends declare, in declaration order."""
    from lqmf.tools.quantize.registry import current

    return current().types()
