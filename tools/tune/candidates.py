"""What tune may try: a quant type, optionally with an importance matrix from a
use-case calibration text and per-tensor overrides (tools/quantize/recipe.py).
A candidate is written ``Q4_K_M``, ``Q4_K_M@code`` (imatrix from the code text)
or ``Q4_K_M+output=q8_0+token_embd=q8_0`` (overrides), or both."""
from __future__ import annotations

from dataclasses import dataclass, field

from lqmf.tools.errors import InvalidInput


@dataclass(frozen=True)
class Candidate:
    quant_type: str
    imatrix: str | None = None                       # calibration text name
    overrides: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        out = self.quant_type + (f"@{self.imatrix}" if self.imatrix else "")
        return out + "".join(f"+{k}={v}" for k, v in self.overrides)

    @property
    def bpw(self) -> float:
        """Bits per weight of the type (overrides add a little; see size_estimate)."""
        from lqmf.tools.quantize.registry import current

        return float(current().spec(self.quant_type).bpw)

    @property
    def method(self) -> str:
        """The quantization method that makes it (its backend's declaration)."""
        from lqmf.tools.quantize.registry import current

        return current().method_of(self.quant_type).value

    @property
    def path(self) -> str:
        """The runtime its artifact is for (llama.cpp, transformers): the backend's bench engine.
        A tune over several paths answers for each (tools/tune/paths.py)."""
        from lqmf.tools.quantize.registry import current

        b = current().backend_of(self.quant_type)
        return (b.bench.value if b.bench else b.name)

    def recipe(self) -> dict[str, str]:
        """The recipe dict quantize takes (empty for a plain type)."""
        out: dict[str, str] = {}
        if self.imatrix:
            out["imatrix"] = self.imatrix
        out.update({f"tensor:{k}": v for k, v in self.overrides})
        return out

    def __str__(self) -> str:
        return self.key


def parse_candidate(text: str) -> Candidate:
    from lqmf.tools.quantize.types import parse_quant_type

    head, *parts = [p.strip() for p in text.strip().split("+")]
    qt, _, imatrix = head.partition("@")
    t = parse_quant_type(qt).value
    overrides = []
    for p in parts:
        name, eq, ty = p.partition("=")
        if not eq or not name or not ty:
            raise InvalidInput(f"cannot read the override {p!r} in {text!r}",
                               "write TENSOR=TYPE, e.g. Q4_K_M+output=q8_0")
        overrides.append((name.strip(), ty.strip().lower()))
    if imatrix:
        from lqmf.knowledge.calibration import check_name

        check_name(imatrix)
    cand = Candidate(t, imatrix or None, tuple(overrides))
    if (imatrix or overrides) and cand.method != "gguf":
        raise InvalidInput(f"an importance matrix or tensor overrides apply to GGUF types, not {t} ({text!r})",
                           f"write {t} alone, or pick a GGUF type (Q4_K_M@code, Q3_K_M+output=q8_0)")
    return cand


# The default ladder: GGUF types from 8 down to 2 bits (IQ types need an imatrix
# and join when --use names a calibration text).
DEFAULT_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_0", "IQ4_XS",
                 "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K")
IMATRIX_TYPES = ("IQ3_M", "IQ3_S", "IQ3_XXS", "IQ2_M", "IQ2_XS")
MIXES = (("output", "q8_0"), ("token_embd", "q8_0"))


def default_candidates(use: str | None = None, mixed: bool = False,
                       methods: tuple[str, ...] | list[str] | None = None) -> list[Candidate]:
    """The GGUF ladder; with ``use`` the k-quants calibrated on that text and the IQ types;
    with ``mixed`` each 3-4 bit k-quant with output and embeddings at Q8_0. ``methods``
    (default gguf alone): every other method named adds every type its backend declares
    and can build (bnb: NF4, NF4_DQ, FP4, FP4_DQ, INT8; gptq: the GPTQ and RTN types)."""
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import QuantMethod

    reg = current()
    wanted = [reg.parse_method(m) for m in (methods or ("gguf",))]
    out: list[Candidate] = []
    for m in dict.fromkeys(wanted):
        if m is not QuantMethod.GGUF:
            out += [Candidate(t) for t in reg.types(m) if reg.backend_of(t).build is not None]
    if QuantMethod.GGUF not in wanted:
        return out
    out = [Candidate(t) for t in DEFAULT_TYPES if reg.has(t)] + out
    if use:
        out += [Candidate(t, use) for t in ("Q4_K_M", "Q4_K_S", "Q3_K_M", "Q3_K_S", *IMATRIX_TYPES) if reg.has(t)]
    if mixed:
        out += [Candidate(t, use, MIXES) for t in ("Q4_K_M", "Q3_K_M", "Q3_K_S") if reg.has(t)]
    return out
