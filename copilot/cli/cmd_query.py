"""`lqmf query "show me my fastest chat models under 2GB"`: questions over past runs.

The text goes through the request parser (copilot.parser) into slots; flags
set or override slots, so structured queries work without any text. Words the
slots do not explain ("where quality collapsed") become a semantic search.
"""
from __future__ import annotations

import argparse

from lqmf.copilot.cli.args import number
from lqmf.copilot.app.types import Knob

FLAG_SLOTS = ["task", "model", "method", "quant_type", "bits", "status", "max_size_gb",
              "min_tok_s", "since_days", "sort", "order", "limit"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("query", help="ask about past experiments (filter, sort, semantic search)",
                       description="Ask about past runs in plain English, or with flags. "
                                   "Example: lqmf query \"show me my fastest chat models under 2GB\"")
    p.add_argument("text", nargs="*", help="the question (optional when flags are given)")
    p.add_argument("--task", choices=["chat", "code", "creative", "math", "summarization", "general"])
    p.add_argument("--model", help="model name as you call it (smollm2, a hub id, a path)")
    p.add_argument("--method", choices=["gguf", "bnb", "gptq", "awq"])
    p.add_argument("--quant-type", dest="quant_type", help="e.g. Q4_K_M, NF4")
    p.add_argument("--bits", type=number(Knob.BITS))
    p.add_argument("--status", choices=["succeeded", "failed", "running", "queued", "cancelled"])
    p.add_argument("--max-size-gb", dest="max_size_gb", type=number(Knob.MAX_SIZE_GB))
    p.add_argument("--min-tok-s", dest="min_tok_s", type=number(Knob.MIN_TOK_S))
    p.add_argument("--since-days", dest="since_days", type=number(Knob.SINCE_DAYS))
    p.add_argument("--sort", choices=["speed", "size", "quality", "date"])
    p.add_argument("--order", choices=["asc", "desc"],
                   help="desc = most of it: fastest, largest, best quality, newest")
    p.add_argument("--limit", type=number(Knob.LIMIT), help="rows to show (default 20)")
    p.add_argument("--like", help="semantic search text (e.g. 'runs where quality collapsed')")
    p.add_argument("--plot", choices=["size-kld", "speed-size"], help="also draw a terminal plot")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=handle)


def build_query(args: argparse.Namespace):
    """(Query, parsed) from the text and flags; flags win over parsed slots."""
    from lqmf.copilot.app.query import build

    flags = {name: getattr(args, name, None) for name in FLAG_SLOTS}
    return build(" ".join(args.text), {**flags, "like": args.like})


def handle(args: argparse.Namespace) -> int:
    from lqmf.copilot.app.query import run

    query, parsed = build_query(args)
    if args.plot and query.limit is None:
        query.limit = 500
    result = run(args.app, query)
    if args.json:
        from lqmf.copilot.cli.output import print_json

        data = result.to_dict()
        if parsed is not None:
            data["parsed"] = parsed
        print_json(data)
        return 0
    from lqmf.copilot.cli.output import console

    con = console()
    msg = result.message()
    if result.records:
        con.print(results_table(result))
    if msg:
        con.print(msg)
    if args.plot and result.records:
        from lqmf.copilot.render_plots import plot

        con.print(plot(result.records, args.plot, color=con.is_terminal), markup=False,
                  highlight=False)
    return 0


def results_table(result):
    import time

    from rich.table import Table

    from lqmf.copilot.app.types import human_bytes

    q = result.query
    table = Table(title=q.describe(), title_justify="left")
    cols = ["id", "model", "type", "method", "kind", "status", "size", "tg tok/s", "mean KLD",
            "Δppl %", "when"]
    if result.semantic:
        cols.append("match")
    for c in cols:
        table.add_column(c, justify="right" if c in ("size", "tg tok/s", "mean KLD", "Δppl %", "match")
                         else "left", no_wrap=c in ("id", "type"))
    now = time.time()
    for i, r in enumerate(result.records):
        row = [r.id, r.model_name or r.model, r.quant_type or "–", r.method or "–", r.kind,
               _status(r), human_bytes(r.size_bytes) if r.size_bytes is not None else "–",
               _f(r.gen_tok_s, "{:.1f}"), _f(r.kld_mean, "{:.4f}"), _f(r.ppl_delta_pct, "{:+.2f}"),
               _age(now - r.created_at)]
        if result.semantic:
            row.append(f"{1 - result.distances[i]:.2f}")
        table.add_row(*row)
    return table


def _status(r) -> str:
    from lqmf.copilot.app.types import Status

    if r.status == Status.FAILED and r.error:
        return f"[red]failed[/red]: {r.error[:60]}"
    return r.status


def _f(v, spec: str) -> str:
    return "–" if v is None else spec.format(v)


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(0, seconds) / 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
