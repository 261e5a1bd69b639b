"""`lqmf models`: sources and artifacts on disk, with their latest numbers."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("models", help="list model sources and quantized artifacts on disk")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from lqmf.copilot.cli.output import console, print_json
    from lqmf.copilot.cli.tables import fmt

    from lqmf.copilot.app.models import inventory

    inv = inventory(args.app)
    if args.json:
        print_json(inv)
        return 0
    out = console()
    t = Table(title="Sources", title_justify="left")
    for h in ("name", "kind", "size", "path"):
        t.add_column(h)
    for s in inv["sources"]:
        t.add_row(s["name"], s["kind"], fmt(s["size_bytes"], "bytes"), s["path"])
    out.print(t)
    if inv["bundled_not_installed"]:
        out.print("Also bundled, not installed: " + "; ".join(inv["bundled_not_installed"]))
    t = Table(title="Artifacts", title_justify="left")
    for h in ("model", "type", "method", "size", "ppl", "mean KLD", "tg tok/s", "gate", "path"):
        t.add_column(h)
    for a in inv["artifacts"]:
        t.add_row(a["model"] or "?", a["quant_type"] or "?", a["method"] or "?", fmt(a["size_bytes"], "bytes"),
                  fmt(a["ppl"], "{:.3f}"), fmt(a["kld_mean"], "{:.4f}"), fmt(a["gen_tok_s"], "{:.1f}"),
                  _gate(a), a["path"])
    if not inv["artifacts"]:
        out.print("No artifacts yet: try `lqmf quantize smollm2 --type Q4_K_M`.")
    else:
        out.print(t)
    return 0


def _gate(a: dict) -> str:
    """The artifact's standing with its gate (tools/verdict.py): rejected, with what failed, or passes."""
    if not a.get("gate"):
        return ""
    if a.get("rejected"):
        return f"[red]rejected[/] by {a['gate']}: {a['rejected']}"
    return f"[green]passes[/] {a['gate']}"
