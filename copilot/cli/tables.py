"""Tables for engine results (quantize, bench, models)."""
from __future__ import annotations

from lqmf.copilot.app.types import human_bytes

QUALITY_COLUMNS = [
    # (header, record field, format)
    ("type", "quant_type", "{}"),
    ("size", "size_bytes", "bytes"),
    ("ppl", "ppl", "{:.3f}"),
    ("Δppl %", "ppl_delta_pct", "{:+.2f}"),
    ("mean KLD", "kld_mean", "{:.4f}"),
    ("p99 KLD", "kld_p99", "{:.4f}"),
    ("top-1 %", "top1_pct", "{:.1f}"),
    ("pp tok/s", "prompt_tok_s", "{:.0f}"),
    ("tg tok/s", "gen_tok_s", "{:.1f}"),
    ("load s", "load_s", "{:.2f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
]

Q41_CAVEAT = ("Note: the bundled SmolLM2's \"unquantized\" weights come from a Q4_1 file, which favours "
              "4-bit k-quants: do not expect llama.cpp's published ordering (on this model llama.cpp's own "
              "tools also measure Q4_K_M below Q5_K_M in KLD).")


def fmt(value, spec: str) -> str:
    if value is None:
        return "–"
    if spec == "bytes":
        return human_bytes(value)
    return spec.format(value)


def quality_table(records: list, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for header, _, _ in QUALITY_COLUMNS:
        table.add_column(header, justify="left" if header == "type" else "right")
    for r in records:
        table.add_row(*(fmt(getattr(r, field), spec) for _, field, spec in QUALITY_COLUMNS))
    return table


def caveat_for(model_ref: str) -> str | None:
    from lqmf.copilot.app.models import source_quant_caveat

    source_quant = source_quant_caveat(model_ref)
    return Q41_CAVEAT.replace("Q4_1", source_quant) if source_quant else None
