"""Tables for engine results (quantize, bench, models)."""
from __future__ import annotations

from lqmf.copilot.app.types import BYTES, METRICS, QUALITY_TABLE, human_bytes

Q41_CAVEAT = ("Note: the bundled SmolLM2's \"unquantized\" weights come from a Q4_1 file, which favours "
              "4-bit k-quants: do not expect llama.cpp's published ordering (on this model llama.cpp's own "
              "tools also measure Q4_K_M below Q5_K_M in KLD).")


def fmt(value, spec: str) -> str:
    """A cell; ``spec`` is a metric's ``fmt`` (tools.metrics): a format string, or BYTES."""
    if value is None:
        return "–"
    if spec == BYTES:
        return human_bytes(value)
    return spec.format(value)


def quality_table(records: list, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("type", justify="left")
    cols = [METRICS[m] for m in QUALITY_TABLE]
    for c in cols:
        table.add_column(c.label, justify="right")
    for r in records:
        table.add_row(fmt(r.quant_type, "{}"), *(fmt(getattr(r, c.field), c.fmt) for c in cols))
    return table


def caveat_for(model_ref: str) -> str | None:
    from lqmf.copilot.app.models import source_quant_caveat

    source_quant = source_quant_caveat(model_ref)
    return Q41_CAVEAT.replace("Q4_1", source_quant) if source_quant else None
