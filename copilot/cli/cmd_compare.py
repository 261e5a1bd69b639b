"""`lqmf compare A B ...`: runs side by side, deltas against the first highlighted.

A target is a run id, an artifact path, or model:QTYPE (smollm2:Q4_K_M). One
quoted sentence ("the Q4_K_M and Q8_0 runs of smollm2") goes through the parser.
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare runs side by side (deltas vs the first)",
                       description="Compare two or more runs: ids, artifact paths, or model:QTYPE "
                                   "(e.g. lqmf compare smollm2:Q4_K_M smollm2:Q8_0).")
    p.add_argument("targets", nargs="+", help="run ids, artifact paths or model:QTYPE")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from lqmf.copilot.app.compare import compare_targets

    result = compare_targets(args.app, args.targets)
    if args.json:
        from lqmf.copilot.cli.output import print_json

        print_json(result.to_dict())
        return 0
    from lqmf.copilot.cli.output import console

    console().print(comparison_table(result))
    return 0


STYLE = {"better": "green", "worse": "red"}


def comparison_table(result):
    from rich.table import Table

    from lqmf.copilot.cli.tables import fmt

    table = Table(title="compared with the first run (green better, red worse)", title_justify="left")
    table.add_column("")
    for r in result.records:
        table.add_column(f"{r.model_name or r.model} {r.quant_type or ''}\n{r.id}", justify="right")
    for row in result.rows:
        m = row[0].metric
        cells = []
        for d in row:
            text = fmt(d.value, m.fmt)
            if d.diff is not None:
                delta = f"{d.pct:+.1f}%" if d.pct is not None else f"{d.diff:+g}"
                style = STYLE.get(d.verdict or "")
                text += f" ({delta})"
                if style:
                    text = f"[{style}]{text}[/{style}]"
            cells.append(text)
        table.add_row(f"{m.label} ({'↑' if m.better.value == 'higher' else '↓'})", *cells)
    return table
