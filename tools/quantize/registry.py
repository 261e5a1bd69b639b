"""Quantization backends: each declares itself once (``Backend``), and one
``Registry`` holds them. Every table about quant types is derived from here:
the parser's vocabulary, the plan's bit-width and choice tables, size and RAM
estimates, the query's accepted values, how the benchmark runs an artifact.

The registry in effect is ``current()``: the built-in backends, or one that a
caller scoped with ``use(registry)`` (a ContextVar, so nothing global is
changed and nothing needs resetting). Functions that do the work also take a
``registry`` argument.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import MissingComponent, UnknownQuantType
from lqmf.tools.quantize.types import (METHOD_ALIASES, ArtifactFormat, BenchEngine, Device, Layout,
                                       QuantMethod, QuantSpec, QuantType)

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress

MB = 1 << 20


@dataclass(frozen=True)
class RamFactor:
    """RAM while quantizing: bytes per parameter plus a fixed overhead."""
    per_param: float
    overhead: int

    def bytes(self, n_params: int) -> int:
        return int(n_params * self.per_param + self.overhead)


@dataclass(frozen=True)
class Requires:
    """What a backend needs to run."""
    ram: RamFactor
    ram_warm: RamFactor | None = None   # when its shared intermediate is already cached
    extras: tuple[str, ...] = ()        # importable modules ("bitsandbytes"); missing -> one sentence
    extra: str = ""                     # the pip extra that installs them (pip install lqmf[extra])
    install: str = ""                   # the install command, when the extra alone is not all of it
    device: Device = Device.CPU
    in_ram: bool = False                # holds the whole model in RAM: refused before loading (tools/quantize/ram.py)


@dataclass(frozen=True)
class Compat:
    """Where a backend works, declared as data: ``Backend.incompatible`` reads it
    before any run, and so can anything that advises (the compatibility oracle)."""
    architectures: tuple[str, ...] = ()   # architectures it can quantize (GGUF / HF model_type names); () = any
    group_sizes: tuple[int, ...] = ()     # the block sizes it can use, preferred first: one must divide the
    #                                       input width of every matrix (its CPU kernel's rule); () = no such rule
    dense_bits: int = 0                   # bits per weight of the embeddings and output head, which it
    #                                       leaves unquantized (0: it quantizes them too)
    expect: str = ""                      # what to expect here, measured (one sentence, shown when advising)


@dataclass(frozen=True)
class ArtifactInfo:
    """What reading an artifact back tells us."""
    architecture: str
    n_params: int
    context: int | None = None


@dataclass(frozen=True)
class ArtifactSpec:
    """How a backend's artifacts are named, laid out and read back."""
    format: ArtifactFormat
    layout: Layout
    suffix: str                                   # ".gguf", or "" for a folder
    read: Callable[[Path], ArtifactInfo]          # reads one back (raises CorruptFile when it is not one)

    def name(self, source_name: str, qtype: str) -> str:
        return f"{source_name}.{qtype}{self.suffix}"


Build = Callable[["ModelSource", QuantSpec, Path, "Progress"], dict]


@dataclass(frozen=True)
class Backend:
    """A quantization backend, declared once by its module."""
    name: str                                     # unique ("llama.cpp")
    method: QuantMethod
    types: tuple[QuantSpec, ...]
    requires: Requires
    artifact: ArtifactSpec
    build: Build | None                           # writes the artifact at a temp path, returns lineage facts;
    #                                               None: declared (its types are known) but not in this version
    bench: BenchEngine | None = None              # what the benchmark runs its artifacts with (None: cannot yet)
    shared: Callable[["ModelSource"], Path] | None = None  # an intermediate it caches and jobs share (the F16)
    size_slack: int = 4 * MB                      # added to the size estimate (headers, metadata)
    compat: Compat = Compat()                     # where it works (checked before a run)
    rank: int = 100                               # lower is preferred where a bit width or a method alone
    #                                               names a type ("4 bits" -> the lowest rank's 4-bit pick)

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(replace(s, method=self.method) for s in self.types))

    def expected_bytes(self, n_params: int, spec: QuantSpec, dense_params: int = 0) -> int:
        """The artifact's expected size: ``dense_params`` (the embeddings and output head,
        ``model_shapes.Shapes.dense_params``) at ``compat.dense_bits`` when it leaves them
        unquantized, the rest at the type's bits per weight."""
        dense = min(dense_params, n_params) if self.compat.dense_bits else 0
        return int((n_params - dense) * spec.bpw / 8 + dense * self.compat.dense_bits / 8)

    def estimate_bytes(self, n_params: int, spec: QuantSpec, dense_params: int = 0) -> int:
        """Output size estimate for the free-disk check: the expected size plus the slack."""
        return self.expected_bytes(n_params, spec, dense_params) + self.size_slack

    def group_size(self, in_features: Iterable[int]) -> int | None:
        """The first declared block size that divides every input width (None: none does,
        or the backend has no such rule)."""
        widths = list(in_features)
        return next((g for g in self.compat.group_sizes if all(w % g == 0 for w in widths)), None)

    def incompatible(self, architecture: str, in_features: Iterable[int] = ()) -> str | None:
        """Why this backend cannot quantize a model of ``architecture`` with these matrix
        widths (one sentence), or None when it can."""
        c = self.compat
        if c.architectures and architecture not in c.architectures:
            return (f"{self.name} does not know the {architecture} architecture "
                    f"(it quantizes {', '.join(c.architectures)})")
        widths = sorted(set(in_features))
        if c.group_sizes and widths and self.group_size(widths) is None:
            return (f"{self.name} needs a group size that divides every matrix width ({', '.join(map(str, widths))}) "
                    f"and none of {', '.join(map(str, c.group_sizes))} does")
        return None

    def ram_bytes(self, n_params: int, warm: bool = False) -> int:
        factor = self.requires.ram_warm if warm and self.requires.ram_warm else self.requires.ram
        return factor.bytes(n_params)

    def check_ready(self) -> None:
        """One sentence with the fix when this backend cannot run here."""
        if self.build is None:
            raise MissingComponent(f"the {self.method.value} backend ({self.name}) is not available in this version",
                                   "use --method gguf")
        import importlib.util

        missing = [m for m in self.requires.extras if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingComponent(f"the {self.name} backend needs {', '.join(missing)}, which is not installed",
                                   self.requires.install or (f"pip install 'lqmf[{self.requires.extra}]'"
                                                             if self.requires.extra else "pip install " + " ".join(missing)))
        if self.requires.device is Device.GPU:
            from lqmf.tools.hardware import gpus

            if not gpus():
                raise MissingComponent(f"the {self.name} backend needs a GPU and none was found",
                                       "run it on a machine with a GPU, or pick a GGUF type")


def _key(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().upper())


class Registry:
    """The backends in effect, and every table derived from them (computed once per registry)."""

    def __init__(self, backends: Iterable[Backend]):
        self._backends: tuple[Backend, ...] = tuple(sorted(backends, key=lambda b: b.rank))  # stable
        self._specs: dict[QuantType, QuantSpec] = {}
        self._owner: dict[QuantType, Backend] = {}
        names: set[str] = set()
        for b in self._backends:
            if b.name in names:
                raise TypeError(f"backend {b.name} registered twice")
            names.add(b.name)
            for s in b.types:
                t = QuantType(s.name)
                if t in self._specs or _key(s.name) != s.name:
                    raise TypeError(f"quant type {s.name} declared twice or not in canonical form")
                self._specs[t], self._owner[t] = s, b
        self._cache: dict[str, Any] = {}

    def with_backend(self, backend: Backend) -> Registry:
        """A new registry with one more backend (this one is left as it is)."""
        return Registry([*self._backends, backend])

    def derived(self, key: str, make: Callable[[Registry], Any]) -> Any:
        """A table derived from this registry, made on first use (for other modules' tables)."""
        if key not in self._cache:
            self._cache[key] = make(self)
        return self._cache[key]

    # ---- lookups ------------------------------------------------------------
    @property
    def backends(self) -> tuple[Backend, ...]:
        return self._backends

    @property
    def specs(self) -> dict[QuantType, QuantSpec]:
        return dict(self._specs)

    def types(self, method: QuantMethod | None = None) -> list[QuantType]:
        return [t for t, s in self._specs.items() if method is None or s.method is method]

    def spec(self, qtype: str) -> QuantSpec:
        try:
            return self._specs[QuantType(qtype)]
        except KeyError:
            raise UnknownQuantType(f"unknown quant type '{qtype}'",
                                   "valid types are " + ", ".join(self._specs)) from None

    def has(self, qtype: object) -> bool:
        return isinstance(qtype, str) and QuantType(qtype) in self._specs

    def backend_of(self, qtype: str) -> Backend:
        self.spec(qtype)
        return self._owner[QuantType(qtype)]

    def method_of(self, qtype: str) -> QuantMethod:
        return self.backend_of(qtype).method

    def bits(self) -> list[int]:
        return sorted({s.bits for s in self._specs.values()})

    def for_path(self, path: Path) -> Backend | None:
        """The backend whose artifacts look like ``path`` (by its suffix), first declared first."""
        for b in self._backends:
            if b.artifact.suffix and path.name.endswith(b.artifact.suffix):
                return b
        return None

    # ---- what the plan and the parser derive ----------------------------------
    def pick(self, bits: int, method: QuantMethod | str | None = None) -> QuantType | None:
        """The type meant by "N bits" (with a method, or with the first declared one that has it)."""
        m = QuantMethod(method) if method else None
        for t, s in self._specs.items():
            if s.pick and s.bits == bits and (m is None or s.method is m):
                return t
        return None

    def choices(self) -> list[QuantType]:
        return [t for t, s in sorted(self._specs.items(), key=lambda kv: kv[1].choice) if s.choice > 0]

    def tune_types(self) -> list[QuantType]:
        return [t for t, s in sorted(self._specs.items(), key=lambda kv: -kv[1].bits) if s.tune]

    # ---- user text -> domain words --------------------------------------------
    def parse_quant_type(self, text: str, method: QuantMethod | None = None) -> QuantType:
        norm = _key(text)
        for t, s in self._specs.items():
            if norm == t or norm.replace("_", "") == t.replace("_", ""):
                if method is None or s.method is method:
                    return t
        valid = self.types(method)
        raise UnknownQuantType(f"unknown quant type '{text}'", "valid types are " + ", ".join(valid))

    def parse_method(self, text: str) -> QuantMethod:
        norm = text.strip().lower()
        norm = METHOD_ALIASES.get(norm, norm)
        try:
            return QuantMethod(norm)
        except ValueError:
            raise UnknownQuantType(f"unknown method '{text}'",
                                   "valid methods are " + ", ".join(m.value for m in QuantMethod)) from None


@lru_cache(maxsize=1)
def builtin() -> Registry:
    """The backends that ship with lqmf: the ``BACKEND`` of every module in
    ``tools/quantize/backends/`` (each imports its heavy library lazily)."""
    import importlib
    import pkgutil

    from lqmf.tools.quantize import backends

    found = []
    for mod in sorted(pkgutil.iter_modules(backends.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{backends.__name__}.{mod.name}")
        if not isinstance(getattr(module, "BACKEND", None), Backend):
            raise TypeError(f"{module.__name__} declares no BACKEND")
        found.append(module.BACKEND)
    return Registry(found)


_CURRENT: ContextVar[Registry | None] = ContextVar("lqmf_quant_registry", default=None)


def current() -> Registry:
    return _CURRENT.get() or builtin()


@contextmanager
def use(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the current one inside the block (this context only)."""
    token = _CURRENT.set(registry)
    try:
        yield registry
    finally:
        _CURRENT.reset(token)


def get_backend(qtype: str, registry: Registry | None = None) -> Backend:
    """The backend that makes ``qtype``, ready to run (else one sentence with the fix)."""
    backend = (registry or current()).backend_of(qtype)
    backend.check_ready()
    return backend


__all__ = ["ArtifactInfo", "ArtifactSpec", "Backend", "Compat", "Registry", "RamFactor", "Requires", "builtin",
           "current", "get_backend", "use"]
