"""Quantization methods and types: the domain words, with their facts."""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from lqmf.tools.errors import UnknownQuantType


class QuantMethod(StrEnum):
    GGUF = "gguf"
    BNB = "bnb"
    GPTQ = "gptq"
    AWQ = "awq"


class QuantType(StrEnum):
    F16 = "F16"
    Q8_0 = "Q8_0"
    Q6_K = "Q6_K"
    Q5_K_M = "Q5_K_M"
    Q5_K_S = "Q5_K_S"
    Q5_1 = "Q5_1"
    Q5_0 = "Q5_0"
    Q4_K_M = "Q4_K_M"
    Q4_K_S = "Q4_K_S"
    Q4_1 = "Q4_1"
    Q4_0 = "Q4_0"
    IQ4_XS = "IQ4_XS"
    IQ4_NL = "IQ4_NL"
    Q3_K_L = "Q3_K_L"
    Q3_K_M = "Q3_K_M"
    Q3_K_S = "Q3_K_S"
    Q2_K = "Q2_K"
    NF4 = "NF4"
    FP4 = "FP4"
    INT8 = "INT8"


@dataclass(frozen=True)
class QuantSpec:
    type: QuantType
    method: QuantMethod
    bits: int            # the nominal bit width users speak of
    bpw: float           # bits per weight in the file, for size estimates
    ftype: str | None    # llama.cpp LLAMA_FTYPE_MOSTLY_* suffix
    summary: str


_S = QuantSpec
SPECS: dict[QuantType, QuantSpec] = {s.type: s for s in [
    _S(QuantType.F16, QuantMethod.GGUF, 16, 16.0, "F16", "unquantized half precision; the reference"),
    _S(QuantType.Q8_0, QuantMethod.GGUF, 8, 8.5, "Q8_0", "8-bit, nearly lossless"),
    _S(QuantType.Q6_K, QuantMethod.GGUF, 6, 6.56, "Q6_K", "6-bit k-quant, very close to F16"),
    _S(QuantType.Q5_K_M, QuantMethod.GGUF, 5, 5.69, "Q5_K_M", "5-bit k-quant, medium: high quality"),
    _S(QuantType.Q5_K_S, QuantMethod.GGUF, 5, 5.54, "Q5_K_S", "5-bit k-quant, small"),
    _S(QuantType.Q5_1, QuantMethod.GGUF, 5, 6.0, "Q5_1", "legacy 5-bit with offset"),
    _S(QuantType.Q5_0, QuantMethod.GGUF, 5, 5.5, "Q5_0", "legacy 5-bit"),
    _S(QuantType.Q4_K_M, QuantMethod.GGUF, 4, 4.89, "Q4_K_M", "4-bit k-quant, medium: the usual default"),
    _S(QuantType.Q4_K_S, QuantMethod.GGUF, 4, 4.58, "Q4_K_S", "4-bit k-quant, small"),
    _S(QuantType.Q4_1, QuantMethod.GGUF, 4, 5.0, "Q4_1", "legacy 4-bit with offset"),
    _S(QuantType.Q4_0, QuantMethod.GGUF, 4, 4.5, "Q4_0", "legacy 4-bit, fast, lower quality"),
    _S(QuantType.IQ4_XS, QuantMethod.GGUF, 4, 4.25, "IQ4_XS", "4-bit i-quant, non-linear grid"),
    _S(QuantType.IQ4_NL, QuantMethod.GGUF, 4, 4.5, "IQ4_NL", "4-bit non-linear, 32-wide blocks"),
    _S(QuantType.Q3_K_L, QuantMethod.GGUF, 3, 4.27, "Q3_K_L", "3-bit k-quant, large"),
    _S(QuantType.Q3_K_M, QuantMethod.GGUF, 3, 3.91, "Q3_K_M", "3-bit k-quant, medium"),
    _S(QuantType.Q3_K_S, QuantMethod.GGUF, 3, 3.5, "Q3_K_S", "3-bit k-quant, small"),
    _S(QuantType.Q2_K, QuantMethod.GGUF, 2, 3.35, "Q2_K", "2-bit k-quant, large quality loss"),
    _S(QuantType.NF4, QuantMethod.BNB, 4, 4.5, None, "bitsandbytes 4-bit NormalFloat"),
    _S(QuantType.FP4, QuantMethod.BNB, 4, 4.5, None, "bitsandbytes 4-bit float"),
    _S(QuantType.INT8, QuantMethod.BNB, 8, 8.5, None, "bitsandbytes LLM.int8()"),
]}

GGUF_TYPES = [t for t, s in SPECS.items() if s.method is QuantMethod.GGUF]


def parse_quant_type(text: str, method: QuantMethod | None = None) -> QuantType:
    """``q4_k_m``, ``Q4-K-M``, ``q4km`` -> QuantType.Q4_K_M; else one clear error."""
    norm = re.sub(r"[\s\-.]+", "_", text.strip().upper())
    for t in QuantType:
        if norm == t.value or norm.replace("_", "") == t.value.replace("_", ""):
            if method is None or SPECS[t].method is method:
                return t
    valid = [t.value for t in QuantType if method is None or SPECS[t].method is method]
    raise UnknownQuantType(f"unknown quant type '{text}'", "valid types are " + ", ".join(valid))


def parse_method(text: str) -> QuantMethod:
    norm = text.strip().lower()
    aliases = {"bitsandbytes": "bnb", "llama.cpp": "gguf", "llamacpp": "gguf", "autogptq": "gptq"}
    norm = aliases.get(norm, norm)
    try:
        return QuantMethod(norm)
    except ValueError:
        raise UnknownQuantType(f"unknown method '{text}'",
                               "valid methods are " + ", ".join(m.value for m in QuantMethod)) from None
