"""Value types, bounds and formats the front ends share, re-exported from
``tools/`` so that no front end imports an engine module: the input bounds
(``Knob``, ``check``), the status vocabulary, the metric registry (what each
measured figure is called, its unit, which way is better, how it is printed),
the quant methods, byte sizes in words."""
from __future__ import annotations

from lqmf.tools.limits import Knob, check
from lqmf.tools.metrics import BYTES, CHAT_SENTENCE, CHAT_TABLE, METRICS, QUALITY_TABLE, QUERY_TABLE, Metric, fmt, say
from lqmf.tools.quantize.types import QuantMethod
from lqmf.tools.status import ACTIVE, FINAL, Status

__all__ = ["ACTIVE", "BYTES", "CHAT_SENTENCE", "CHAT_TABLE", "FINAL", "METRICS", "QUALITY_TABLE", "QUERY_TABLE",
           "Knob", "Metric", "QuantMethod", "Status", "check", "fmt", "human_bytes", "quant_type_names", "say"]


def human_bytes(n: int | float) -> str:
    from lqmf.tools.fsutil import human_bytes as engine

    return engine(n)


def quant_type_names() -> list[str]:
    """Every quant type's name, in the declared order."""
    from lqmf.tools.quantize.types import quant_types

    return [t.value for t in quant_types()]
