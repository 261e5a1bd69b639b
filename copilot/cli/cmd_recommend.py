"""`lqmf recommend TASK [--vram GB | --ram GB] [--device NAME] [--json]`"""
from __future__ import annotations

import argparse


def register(sub) -> None:
    from lqmf.copilot.app.types import Knob
    from lqmf.copilot.cli.args import number

    p = sub.add_parser("recommend", help="the right model and quant type for a need and a machine",
                       description="Rank (model, quant type, method) for a task on this machine or one you name, "
                                   "with predicted size, memory, speed and quality loss.")
    p.add_argument("task", nargs="?", default="chat",
                   help="chat, general, creative, code, math, reasoning, summarization (default chat)")
    p.add_argument("--vram", type=number(Knob.VRAM_GB), help="GPU memory in GB (a GPU you don't have is fine)")
    p.add_argument("--ram", type=number(Knob.RAM_GB), help="system RAM in GB")
    p.add_argument("--device", help='cpu, gpu, "raspberry pi 5", "rtx 3060", laptop ... (default: this machine)')
    p.add_argument("--model", help="only this model (catalog name, or a local folder with config.json)")
    p.add_argument("--method", help="only this method (gguf, bnb, ...)")
    p.add_argument("--max-size", type=number(Knob.MAX_SIZE_GB), dest="max_size_gb", help="largest file in GB")
    p.add_argument("--min-tok-s", type=number(Knob.MIN_TOK_S), help="slowest acceptable generation speed")
    p.add_argument("--ctx", type=number(Knob.CONTEXT), help="context length to size the KV cache for (default 4096)")
    p.add_argument("--limit", type=number(Knob.LIMIT), default=5, help="options to list (default 5)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import recommend as rec
    from lqmf.copilot.cli.output import console, print_json

    advice = rec.recommend(args.app, args.task, vram_gb=args.vram, ram_gb=args.ram, device=args.device,
                           max_size_gb=args.max_size_gb, model=args.model, method=args.method,
                           min_tok_s=args.min_tok_s, ctx=args.ctx, limit=args.limit)
    if args.json:
        print_json(advice.to_dict())
        return 0
    from rich.table import Table

    c = console()
    lines = rec.summary(advice)
    c.print(lines[0], highlight=False)
    cols, rows = rec.table(advice, nearest=not advice.rows)
    t = Table(*cols)
    for r in rows:
        t.add_row(*r)
    c.print(t)
    for line in lines[1:]:
        c.print(line, highlight=False, markup=False)
    return 0
