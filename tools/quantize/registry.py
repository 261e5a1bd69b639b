"""Quantization backends, registered by method (one class per QuantMethod)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from lqmf.tools.errors import MissingComponent
from lqmf.tools.models import ModelSource
from lqmf.tools.progress import Progress
from lqmf.tools.quantize.types import QuantMethod, QuantType

BACKENDS: dict[QuantMethod, type["Backend"]] = {}


class Backend(ABC):
    """Makes one quantized artifact from a source. Subclasses set ``method``."""

    method: ClassVar[QuantMethod]
    suffix: ClassVar[str]          # artifact file suffix, or "" for a folder

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.method in BACKENDS:
            raise TypeError(f"backend for {cls.method} registered twice")
        BACKENDS[cls.method] = cls

    def artifact_name(self, source: ModelSource, qtype: QuantType) -> str:
        return f"{source.name}.{qtype.value}{self.suffix}"

    @abstractmethod
    def estimate_bytes(self, n_params: int, qtype: QuantType) -> int:
        """Output size estimate, for the free-disk check."""

    @abstractmethod
    def build(self, source: ModelSource, qtype: QuantType, out: Path, progress: Progress) -> dict:
        """Write the artifact at ``out`` (a temp path); return lineage facts."""


def get_backend(method: QuantMethod) -> Backend:
    _load_builtin()
    cls = BACKENDS.get(method)
    if cls is None:
        raise MissingComponent(f"the {method.value} backend is not available in this version",
                               "use --method gguf")
    return cls()


def _load_builtin() -> None:
    # importing registers them; each imports its heavy library lazily
    from lqmf.tools.quantize import gguf  # noqa: F401
