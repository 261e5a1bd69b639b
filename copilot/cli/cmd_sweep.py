"""`lqmf sweep`: a multi-strategy run (models × methods × quant types) through
the job queue, and `lqmf sweep BATCH` for its summary with the best pick."""
from __future__ import annotations

import argparse

from lqmf.copilot.cli.args import number
from lqmf.copilot.cli.cmd_quantize import split_types
from lqmf.copilot.app.types import Knob


def register(sub) -> None:
    p = sub.add_parser("sweep", help="queue a multi-strategy run and pick the best when it is done",
                       description="Queue quantize+benchmark jobs for every model × method × quant type "
                                   "(`lqmf sweep smollm2 --type Q4_K_M,Q5_K_M,Q8_0 --pick smallest --max-kld 0.05`), "
                                   "or show a batch's summary (`lqmf sweep --batch ID`).")
    p.add_argument("models", nargs="*", help="models to quantize (comma-separate or repeat)")
    p.add_argument("--type", "-t", dest="types", action="append", help="quant types (comma-separate or repeat)")
    p.add_argument("--method", "-m", dest="methods", action="append", help="methods (default: each type's own)")
    p.add_argument("--batch", help="show the summary of this batch instead of queueing")
    p.add_argument("--pick", default="best_quality", choices=["smallest", "fastest", "best_quality"],
                   help="how the summary picks the best strategy")
    p.add_argument("--max-kld", type=number(Knob.MAX_KLD), help="with --pick smallest: the mean KLD limit")
    p.add_argument("--chunks", type=number(Knob.CHUNKS), help="benchmark windows per strategy (default 40)")
    p.add_argument("--gate", help='quality gate ("kld<0.05,size<1GB"): failing strategies are rejected, never picked')
    p.add_argument("--priority", default="normal", choices=["high", "normal", "low"])
    p.add_argument("--at", dest="not_before", metavar="WHEN", help="not before WHEN (tonight, 02:00, in 2 hours)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from lqmf.copilot.app import sweep
    from lqmf.copilot.cli.output import console, print_json

    if args.batch:
        s = sweep.summary(args.app, args.batch, args.pick, max_kld=args.max_kld, gate=args.gate)
        if args.json:
            print_json(asdict(s))
        else:
            _print_summary(s)
        return 0
    batch = sweep.sweep(args.app, split_types(args.models), split_types(args.types or []),
                        split_types(args.methods or []) or None, chunks=args.chunks, priority=args.priority,
                        not_before=args.not_before, gate=args.gate)
    if args.json:
        print_json({"batch": batch})
    else:
        console().print(f"queued batch {batch}; see progress with `lqmf jobs` and the pick with "
                        f"`lqmf sweep --batch {batch} --pick {args.pick}`")
    return 0


def _print_summary(s) -> None:
    from rich.table import Table

    from lqmf.copilot.cli.output import console
    from lqmf.copilot.cli.tables import fmt

    t = Table(title=f"batch {s.batch}: best by {s.criterion.value}", title_justify="left")
    for h in ("model", "type", "method", "state", "size", "mean KLD", "ppl", "tg tok/s", ""):
        t.add_column(h)
    for st in s.strategies:
        t.add_row(st.model, st.quant_type, st.method, st.state, fmt(st.size_bytes, "bytes"),
                  fmt(st.kld_mean, "{:.4f}"), fmt(st.ppl, "{:.3f}"), fmt(st.gen_tok_s, "{:.1f}"),
                  "[green]← best[/]" if st is s.best else (f"[red]rejected: {st.gate_failed}[/]" if st.gate_failed else ""))
    out = console()
    out.print(t)
    if s.pending:
        out.print(f"{s.pending} strateg{'y is' if s.pending == 1 else 'ies are'} not finished yet.")
    out.print(f"pick: {s.best.model} {s.best.quant_type} ({s.reason})" if s.best else f"no pick yet: {s.reason}")
