"""Value types, bounds and formats the front ends share, re-exported from
``tools/`` so that no front end imports an engine module: the input bounds
(``Knob``, ``check``), the status vocabulary, byte sizes in words."""
from __future__ import annotations

from lqmf.tools.limits import Knob, check
from lqmf.tools.status import ACTIVE, FINAL, Status

__all__ = ["ACTIVE", "FINAL", "Knob", "Status", "check", "human_bytes", "quant_type_names"]


def human_bytes(n: int | float) -> str:
    from lqmf.tools.fsutil import human_bytes as engine

    return engine(n)


def quant_type_names() -> list[str]:
    """Every quant type's name, in the declared order."""
    from lqmf.tools.quantize.types import QuantType

    return [t.value for t in QuantType]
