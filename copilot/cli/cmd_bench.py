"""`lqmf bench ARTIFACT.gguf` or `lqmf bench MODEL --type Q4_K_M,Q8_0`"""
from __future__ import annotations

import argparse

from lqmf.copilot.cli.args import add_gptq_flags, gptq_recipe, number
from lqmf.copilot.cli.cmd_quantize import require_types
from lqmf.copilot.app.types import Knob
from lqmf.copilot.cli.queueing import add_queue_flags, check_queue_flags, print_queued


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure size, speed, perplexity and KL divergence",
                       description="Benchmark a GGUF artifact, or a model at one or more quant types "
                                   "(quantizing what is missing) and print the quality table.")
    p.add_argument("target", help="an artifact .gguf or folder, a GPTQ checkpoint folder, or a model "
                                   "(smollm2, a folder, a hub id)")
    p.add_argument("--type", "-t", dest="types", action="append",
                   help="quant types for a model (repeat or comma-separate); none = the F16 baseline")
    p.add_argument("--method", "-m", help="gguf, bnb, gptq: check the types belong to it; with --bits, pick its type")
    p.add_argument("--bits", type=int, action="append", help="a bit width (repeat): the --method's type for it")
    p.add_argument("--chunks", type=number(Knob.CHUNKS), default=None,
                   help="windows of --ctx tokens to score (default 40 = 20,480 tokens)")
    p.add_argument("--ctx", type=number(Knob.CTX), default=512, help="context window (default 512)")
    p.add_argument("--threads", type=number(Knob.THREADS),
                   help="threads (default: the cores that are free when it starts)")
    p.add_argument("--base", help="F16 GGUF to compare against (default: the artifact's own)")
    p.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    p.add_argument("--gate", help='quality gate ("kld<0.05,tok_s>50" or a saved name); a failing run is marked rejected')
    p.add_argument("--json", action="store_true", help="print records as JSON")
    add_gptq_flags(p)
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow code from the model folder to run (*.py, auto_map, pickle weights); off by default")
    add_queue_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import benchmark as b
    from lqmf.copilot.cli.output import console, print_json
    from lqmf.copilot.cli.progress import rich_progress
    from lqmf.copilot.cli.tables import caveat_for, quality_table

    check_queue_flags(args)
    types = require_types(args.types) if args.types is not None else []  # `--type ,,` is not "no type"
    if args.bits:
        from lqmf.copilot.app.quants import types_for

        types = types_for(types, args.bits, args.method)
    recipe = gptq_recipe(args)
    if recipe and args.queue:
        from lqmf.tools.errors import InvalidInput

        raise InvalidInput("--queue does not take --group-size, --desc-act or --calibration yet",
                           "run it without --queue")
    if args.queue:
        ids = b.queue(args.app, args.target, types, chunks=args.chunks, ctx=args.ctx, threads=args.threads,
                      trust_remote_code=args.trust_remote_code, priority=args.priority,
                      not_before=args.not_before, gate=args.gate, method=args.method)
        return print_queued(ids, args)
    records = b.benchmark(args.app, args.target, types, chunks=args.chunks, ctx=args.ctx, threads=args.threads,
                          base=args.base, speed=not args.no_speed, trust_remote_code=args.trust_remote_code,
                          progress_for=lambda: rich_progress(enabled=not args.json), gate=args.gate,
                          method=args.method, recipe=recipe)
    if args.json:
        print_json([r.to_dict() for r in records])
        return _code(args, records)
    out = console()
    first = records[0]
    title = (f"{first.model_name or args.target} on {first.eval_text} "
             f"({first.eval_tokens} scored tokens, ctx {first.ctx}, {_threads(records)})")
    out.print(quality_table(records, title))
    note = caveat_for(first.model_name or args.target)
    if note:
        out.print(f"[dim]{note}[/]")
    for r in records:
        if r.gate:
            out.print(f"[red]rejected[/] {r.quant_type or r.artifact} by the gate {r.gate}: {r.gate_failed}"
                      if r.gate_failed else f"[green]passes[/] {r.quant_type or r.artifact}: {r.gate}")
    return _code(args, records)


def _code(args: argparse.Namespace, records) -> int:
    """1 when a gate given now fails; a rejection the artifact carries from an earlier
    gate is shown (and kept in the record) but does not fail a run that asked for no gate."""
    return 1 if args.gate and any(r.gate_failed for r in records) else 0


def _threads(records) -> str:
    """The thread counts the rows were measured at, and how busy the machine was."""
    counts = sorted({r.threads for r in records if r.threads})
    label = "/".join(str(c) for c in counts) or "?"
    busy = max((r.cpu_busy or 0.0) for r in records)
    word = "thread" if counts == [1] else "threads"
    return f"{label} {word}" + (f", {busy:.1f} cores busy with other work" if busy >= 0.5 else "")
