"""Will this (model, method, quant type, machine) work? Answered before any run
from: the architectures the artifact's road can read (llama.cpp's converter
for GGUF, transformers for safetensors folders), the backend's own declaration
(``tools.quantize.registry.Backend``: built in this version, its libraries
installed, the device it needs), the memory it needs (``memfit``, and the
backend's RAM while quantizing), and past failures in the store.

Nothing here names a backend: a new one is judged by its declaration."""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from lqmf.tools.catalog import ModelFacts
from lqmf.tools.errors import LqmfError
from lqmf.tools.quantize.registry import Backend, current
from lqmf.tools.quantize.types import ArtifactFormat, BenchEngine, Device
from lqmf.tools.recommend.devices import Hardware, Kind
from lqmf.tools.recommend.memfit import estimate


class Why(StrEnum):
    """What kind of reason refuses a run (the error type a front end raises for it)."""
    ARCHITECTURE = "architecture"
    BACKEND = "backend"
    MEMORY = "memory"
    REQUEST = "request"


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)    # why not (empty when ok)
    cautions: list[str] = field(default_factory=list)   # it may work, but...
    kinds: list[Why] = field(default_factory=list)      # one per reason

    def refuse(self, kind: Why, sentence: str) -> None:
        self.ok = False
        self.reasons.append(sentence)
        self.kinds.append(kind)

    def error(self) -> LqmfError | None:
        """The first reason as the project's error (None when ok)."""
        if self.ok or not self.reasons:
            return None
        from lqmf.tools.errors import ImpossibleJob, MissingComponent, UnsupportedArchitecture

        kind = self.kinds[0] if self.kinds else Why.REQUEST
        cls, fix = {Why.ARCHITECTURE: (UnsupportedArchitecture, "choose a model of a supported family "
                                       "(llama, qwen2, mistral, gemma, phi3 ...); `lqmf recommend` lists some"),
                    Why.BACKEND: (MissingComponent, "pick a GGUF type, or install what it names"),
                    Why.MEMORY: (ImpossibleJob, "pick a smaller model or quant type; `lqmf recommend` shows what fits"),
                    Why.REQUEST: (ImpossibleJob, "ask for something else")}[kind]
        return cls(self.reasons[0], fix)

    @property
    def sentence(self) -> str:
        return "; ".join(self.reasons or self.cautions)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "reasons": self.reasons, "cautions": self.cautions}


@lru_cache(maxsize=1)
def converter_architectures() -> frozenset[str] | None:
    """What llama.cpp's HF->GGUF converter registers (None: the converter is not installed)."""
    from lqmf.tools.llamacpp.sdist import find_converter, supported_architectures

    try:
        return frozenset(supported_architectures(find_converter()))
    except LqmfError:
        return None


@lru_cache(maxsize=1)
def transformers_architectures() -> frozenset[str] | None:
    """Causal-LM classes transformers can build (None: transformers is not installed). Read from
    the source of its auto mapping, as the converter's list is read: importing it would start torch."""
    import re
    from pathlib import Path

    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.origin:
        return None
    src = Path(spec.origin).parent / "models" / "auto" / "modeling_auto.py"
    try:
        text = src.read_text(encoding="utf-8")
    except OSError:
        return None
    names: set[str] = set()
    for table in ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES"):
        m = re.search(rf"^{table} = OrderedDict\((.*?)^\)", text, re.S | re.M)
        if m:
            names.update(re.findall(r"[\"'](\w+For\w+|\w+LMHeadModel)[\"']", m.group(1)))
    return frozenset(names) or None


# What reads a source on the way to each artifact format (a new backend writing
# one of these formats needs nothing here).
READERS: dict[ArtifactFormat, tuple[str, Callable[[], frozenset[str] | None]]] = {
    ArtifactFormat.GGUF: ("llama.cpp's converter", converter_architectures),
    ArtifactFormat.SAFETENSORS: ("transformers", transformers_architectures),
}


def architecture_problem(facts: ModelFacts, backend: Backend, from_gguf: bool = False) -> str | None:
    """A sentence when the backend's road cannot read this architecture. A GGUF source
    (the bundled models) needs no converter."""
    if facts.entry.get("converter") is False and backend.artifact.format is ArtifactFormat.GGUF:
        return f"llama.cpp's converter does not support the architecture {facts.architecture} ({facts.name})"
    if from_gguf and backend.artifact.format is ArtifactFormat.GGUF:
        return None
    who, known = READERS.get(backend.artifact.format, ("", lambda: None))
    archs = known()
    if archs is not None and facts.architecture and facts.architecture not in archs:
        if backend.artifact.format is ArtifactFormat.GGUF:
            return f"llama.cpp's converter does not support the architecture {facts.architecture}"
        return f"{who} cannot load the architecture {facts.architecture}"
    return None


def backend_problem(backend: Backend, hw: Hardware) -> str | None:
    """From the declaration: built in this version, its libraries present, the device it needs."""
    if backend.build is None:
        return f"the {backend.method.value} backend ({backend.name}) is not available in this version"
    missing = [m for m in backend.requires.extras if importlib.util.find_spec(m) is None]
    if missing:
        fix = f"pip install 'lqmf[{backend.requires.extra}]'" if backend.requires.extra else "pip install " + " ".join(missing)
        return f"the {backend.name} backend needs {', '.join(missing)}, which is not installed ({fix})"
    if backend.requires.device is Device.GPU and hw.kind is not Kind.GPU:
        return f"the {backend.name} backend needs a GPU and {hw.name} has none"
    return None


def past_failures(records: Iterable, facts: ModelFacts, qtype: str, source_sha: str | None = None) -> list:
    """Failed quantize runs of this model (same source when known) at this type."""
    out = []
    for r in records:
        if r.status != "failed" or r.quant_type != qtype or not r.error:
            continue
        if source_sha and r.source_sha256 and r.source_sha256 != source_sha:
            continue
        if (r.model_name or r.model) in (facts.name, facts.hub_id) or r.model == facts.name:
            out.append(r)
    return out


def check(facts: ModelFacts, qtype: str, hw: Hardware, *, ctx: int = 4096, records: Iterable = (),
          from_gguf: bool = False, quantize_here: bool = False, weights: int | None = None) -> Verdict:
    """The verdict for running ``facts`` at ``qtype`` on ``hw``. With ``quantize_here`` it is for
    making it on this machine: the backend's RAM while quantizing must fit, and running it
    here is only a caution (an artifact may be made for another machine)."""
    reg = current()
    backend = reg.backend_of(qtype)
    spec = reg.spec(qtype)
    v = Verdict(True)
    for kind, problem in ((Why.ARCHITECTURE, architecture_problem(facts, backend, from_gguf)),
                          (Why.BACKEND, backend_problem(backend, hw))):
        if problem:
            v.refuse(kind, problem)
    engine = backend.bench or BenchEngine.TRANSFORMERS
    mem = estimate(facts, spec, min(ctx, facts.context), hw.kind, engine, weights)
    if mem.total_gb > hw.budget_gb:
        where = "VRAM" if hw.kind is Kind.GPU else "RAM"
        said = (f"{facts.name} at {qtype} needs about {mem.total_gb:.1f} GB of {where} with a "
                f"{mem.ctx}-token context and {hw.name} has about {hw.budget_gb:.1f} GB to spare")
        if quantize_here:
            v.cautions.append(said)
        else:
            v.refuse(Why.MEMORY, said)
    if quantize_here:
        need = backend.ram_bytes(facts.n_params) / 1e9
        if need > hw.ram_gb:
            v.refuse(Why.MEMORY, f"quantizing {facts.name} with {backend.name} needs about {need:.1f} GB of RAM "
                             f"and this machine has {hw.ram_gb:.1f} GB")
    if backend.bench is None:
        v.cautions.append(f"lqmf cannot benchmark {backend.method.value} artifacts yet")
    for r in past_failures(records, facts, qtype)[-1:]:
        v.cautions.append(f"it failed here before: {r.error}")
    return v
