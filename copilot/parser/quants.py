"""Quantization words in an utterance: quant types (every llama.cpp and
bitsandbytes name in its typed, loose and spoken forms), methods, bit widths.

Each finder returns ``Hit``s with the character span they used, so later
finders (model names) do not read the same characters again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    slot: str
    value: object
    start: int
    end: int


_Q = r"(?:q|queue|cue|kew|que)"
_SEP = r"[\s_\-.]?"
_KSUFFIX = {"m": "M", "medium": "M", "s": "S", "small": "S", "l": "L", "large": "L"}
_KQUANT = re.compile(rf"\b{_Q}\s?[_\-]?\s?([2-6])\s?[_\-]?\s?k(?:{_SEP}(medium|small|large|m|s|l))?\b(?![.\d])")
_LEGACY = re.compile(rf"\b{_Q}\s?[_\-]?\s?([458])(?:[\s_\-.]|\s?point\s?)?([01])\b(?![.\d])")
_IQ = re.compile(r"\bi\s?q\s?[_\-]?\s?4\s?[_\-]?\s?(x\s?s|n\s?l)\b")
_FIXED = [
    (re.compile(r"\b(?:f16|fp16|bf16)\b"), "F16"),
    (re.compile(r"\bnf4\b|\bnormal ?float(?: ?4)?\b"), "NF4"),
    (re.compile(r"\bfp4\b"), "FP4"),
    (re.compile(r"\b(?:llm\.)?int8\b"), "INT8"),
]
_BARE_Q = re.compile(r"\bq\s?([2-8])\b(?![._\-]?\d)")
_INT4 = re.compile(r"\bint4\b")
_BITS = re.compile(r"\b(\d{1,2})\s?-?\s?(?:bits?|bpw)\b(?:\s?-?\s?width)?")
_BITWIDTH = re.compile(r"\bbit[\s-]?width (?:of )?(\d{1,2})\b")

_METHODS = [
    (re.compile(r"\b(?:gguf|ggml|llama\.cpp|llamacpp|k-?quants?)\b"), "gguf"),
    (re.compile(r"\b(?:bnb|bitsandbytes|bitsnbytes|bits&bytes)\b"), "bnb"),
    (re.compile(r"\b(?:auto-?)?gptq(?:model)?\b"), "gptq"),
    (re.compile(r"\b(?:auto-?)?awq\b"), "awq"),
]
VALID_BITS = frozenset({2, 3, 4, 5, 6, 8, 16})
# quant type -> (method, bits): the inferences the contract allows.
TYPE_FACTS = {
    "F16": ("gguf", 16), "Q8_0": ("gguf", 8), "Q6_K": ("gguf", 6), "Q5_K_M": ("gguf", 5),
    "Q5_K_S": ("gguf", 5), "Q5_0": ("gguf", 5), "Q5_1": ("gguf", 5), "Q4_K_M": ("gguf", 4),
    "Q4_K_S": ("gguf", 4), "Q4_0": ("gguf", 4), "Q4_1": ("gguf", 4), "IQ4_XS": ("gguf", 4),
    "IQ4_NL": ("gguf", 4), "Q3_K_L": ("gguf", 3), "Q3_K_M": ("gguf", 3), "Q3_K_S": ("gguf", 3),
    "Q2_K": ("gguf", 2), "NF4": ("bnb", 4), "FP4": ("bnb", 4), "INT8": ("bnb", 8),
}


def _overlaps(taken: list[tuple[int, int]], s: int, e: int) -> bool:
    return any(s < te and ts < e for ts, te in taken)


def find_quant_types(text: str) -> list[Hit]:
    hits: list[Hit] = []
    taken: list[tuple[int, int]] = []

    def add(value: str, m: re.Match) -> None:
        if not _overlaps(taken, m.start(), m.end()):
            taken.append((m.start(), m.end()))
            hits.append(Hit("quant_type", value, m.start(), m.end()))

    for m in _IQ.finditer(text):
        add("IQ4_" + m.group(1).replace(" ", "").upper(), m)
    for m in _KQUANT.finditer(text):
        bits, suffix = m.group(1), m.group(2)
        if bits in ("2", "6"):
            add(f"Q{bits}_K", m)
        else:
            add(f"Q{bits}_K_{_KSUFFIX.get(suffix or 'm', 'M')}", m)
    for m in _LEGACY.finditer(text):
        value = f"Q{m.group(1)}_{m.group(2)}"
        if value in TYPE_FACTS:
            add(value, m)
    for pat, value in _FIXED:
        for m in pat.finditer(text):
            add(value, m)
    hits.sort(key=lambda h: h.start)
    return hits


def find_methods(text: str) -> list[Hit]:
    hits = [Hit("method", value, m.start(), m.end())
            for pat, value in _METHODS for m in pat.finditer(text)]
    return sorted(hits, key=lambda h: h.start)


def find_bits(text: str) -> list[Hit]:
    hits = []
    for pat in (_BITS, _BITWIDTH, _BARE_Q):
        for m in pat.finditer(text):
            n = int(m.group(1))
            if n in VALID_BITS:
                hits.append(Hit("bits", n, m.start(), m.end()))
    hits += [Hit("bits", 4, m.start(), m.end()) for m in _INT4.finditer(text)]
    return sorted(hits, key=lambda h: h.start)
