"""Quantization words in an utterance: quant types (every name the quant
backends declare, in its typed, loose and spoken forms), methods, bit widths.

The k-quant, legacy and i-quant spellings ("q4 k m", "q8 point 0") are a
grammar; every other declared name (F16, NF4, a new backend's BF16) and each
type's declared extra words are read as they are declared
(``tools.quantize.registry``), so a new backend's types are understood without
editing this file.

Each finder returns ``Hit``s with the character span they used, so later
finders (model names) do not read the same characters again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lqmf.tools.quantize.registry import Registry, current


@dataclass(frozen=True)
class Hit:
    slot: str
    value: object
    start: int
    end: int
    worded: bool = False   # read from one of the type's declared words ("double quant"), not its name


_Q = r"(?:q|queue|cue|kew|que)"
_SEP = r"[\s_\-.]?"
_KSUFFIX = {"m": "M", "medium": "M", "s": "S", "small": "S", "l": "L", "large": "L"}
_KQUANT = re.compile(rf"\b{_Q}\s?[_\-]?\s?([2-6])\s?[_\-]?\s?k(?:{_SEP}(medium|small|large|m|s|l))?\b(?![.\d])")
_LEGACY = re.compile(rf"\b{_Q}\s?[_\-]?\s?([458])(?:[\s_\-.]|\s?point\s?)?([01])\b(?![.\d])")
_IQ = re.compile(r"\bi\s?q\s?[_\-]?\s?4\s?[_\-]?\s?(x\s?s|n\s?l)\b")
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


def type_facts(reg: Registry | None = None) -> dict[str, tuple[str, int]]:
    """quant type -> (method, bits): the inferences the contract allows."""
    return (reg or current()).derived("parser.type_facts", lambda r: {
        str(t): (s.method.value if s.method else "", s.bits) for t, s in r.specs.items()})


def valid_bits(reg: Registry | None = None) -> frozenset[int]:
    return (reg or current()).derived("parser.bits", lambda r: frozenset(r.bits()))


def _grammar(text: str) -> list[Hit]:
    hits: list[Hit] = []
    taken: list[tuple[int, int]] = []
    legacy = type_facts()

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
        if value in legacy:
            add(value, m)
    return hits


def _fixed_patterns(reg: Registry) -> list[tuple[re.Pattern, str]]:
    """One pattern per declared type the grammar does not spell: its name and its
    declared words (a word that is another declared type's name is left to that type)."""
    names = {str(t).lower() for t in reg.types()}
    out = []
    for t, s in reg.specs.items():
        low = str(t).lower()
        if [h.value for h in _grammar(low)] == [str(t)]:
            continue
        alts = [re.escape(low), *(w for w in s.words if w not in names)]
        out.append((re.compile(r"\b(?:" + "|".join(alts) + r")\b"), str(t)))
    return out


def _overlaps(taken: list[tuple[int, int]], s: int, e: int) -> bool:
    return any(s < te and ts < e for ts, te in taken)


def find_quant_types(text: str) -> list[Hit]:
    """The grammar's hits, then the declared names and words, longest first ("nf4 with double
    quant" is NF4_DQ, not NF4)."""
    hits = _grammar(text)
    found = [(m.start(), m.end(), value) for pat, value in current().derived("parser.fixed", _fixed_patterns)
             for m in pat.finditer(text)]
    for s, e, value in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
        if not _overlaps([(h.start, h.end) for h in hits], s, e):
            worded = re.sub(r"[\s_\-]", "", text[s:e]) != value.lower().replace("_", "")
            hits.append(Hit("quant_type", value, s, e, worded))
    hits.sort(key=lambda h: h.start)
    return _refined(hits, text)


def _refined(hits: list[Hit], text: str) -> list[Hit]:
    """A setting said apart from its type ("nf4, and turn on double quantization"; "fp4 with dq
    enabled later"): one type, the named type's variant with that setting (declared ``refines``)."""
    specs = current().specs
    variant_of = {str(sp.refines): str(t) for t, sp in specs.items() if sp.refines}   # NF4 -> NF4_DQ
    bases = [h for h in hits if str(h.value) in variant_of]
    out = list(hits)
    for h in hits:
        base = specs[h.value].refines if h.value in specs else None
        if not base or base.lower() in text[h.start:h.end] or not bases:
            continue   # "nf4 with double quant" is one hit already
        named = bases[0]
        out = [x for x in out if x is not named and x is not h]
        out.append(Hit("quant_type", variant_of[str(named.value)], min(named.start, h.start), max(named.end, h.end),
                       True))
        bases = bases[1:]
    return sorted(out, key=lambda x: x.start)


def method_and_bits(span: str) -> bool:
    """Whether ``span`` is only a method and a bit width ("awq 4 bit", "4-bit gptq")."""
    methods, bits = find_methods(span), find_bits(span)
    if not methods or not bits:
        return False
    rest = list(span)
    for h in methods + bits:
        rest[h.start:h.end] = " " * (h.end - h.start)
    return not re.sub(r"[\s\-_]+", "", "".join(rest))


def find_methods(text: str) -> list[Hit]:
    hits = [Hit("method", value, m.start(), m.end())
            for pat, value in _METHODS for m in pat.finditer(text)]
    return sorted(hits, key=lambda h: h.start)


def find_bits(text: str) -> list[Hit]:
    hits = []
    for pat in (_BITS, _BITWIDTH, _BARE_Q):
        for m in pat.finditer(text):
            n = int(m.group(1))
            if n in valid_bits():
                hits.append(Hit("bits", n, m.start(), m.end()))
    hits += [Hit("bits", 4, m.start(), m.end()) for m in _INT4.finditer(text)]
    return sorted(hits, key=lambda h: h.start)
