"""The RAM check of the backends that hold the whole model in memory while they
quantize (``Requires.in_ram``): refused before anything is loaded or locked,
with the estimate, when it exceeds the memory available now."""
from __future__ import annotations

from typing import TYPE_CHECKING

from lqmf.tools.errors import ImpossibleJob

if TYPE_CHECKING:
    from lqmf.tools.quantize.registry import Backend


def free_ram() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def check_ram(backend: Backend, n_params: int, available: int | None = None) -> int:
    """The estimate in bytes; ImpossibleJob (one sentence) when it does not fit."""
    from lqmf.tools.fsutil import human_bytes

    need = backend.ram_bytes(n_params)
    have = free_ram() if available is None else available
    if need > have:
        raise ImpossibleJob(f"{backend.name} needs about {human_bytes(need)} of RAM for this model "
                            f"({n_params / 1e6:.0f}M params); {human_bytes(have)} is available",
                            "close other programs, or pick a GGUF type (llama.cpp maps the model instead)")
    return need
