"""`lqmf quantize MODEL --type Q4_K_M [--out DIR]`"""
from __future__ import annotations

import argparse

from lqmf.copilot.app.types import Knob
from lqmf.copilot.cli.args import add_gptq_flags, gptq_recipe, number
from lqmf.copilot.cli.queueing import add_queue_flags, check_queue_flags, print_queued


def register(sub) -> None:
    p = sub.add_parser("quantize", help="make quantized copies of a model",
                       description="Quantize a model (bundled name, HF folder, .gguf, or cached hub id).")
    p.add_argument("model", help="smollm2, ./my-hf-model, model.gguf, or org/name in the local HF cache")
    p.add_argument("--type", "-t", dest="types", action="append",
                   help="quant type (repeat or comma-separate): Q4_K_M, Q8_0, NF4, INT8, GPTQ_4BIT, ... (or --template)")
    p.add_argument("--imatrix", metavar="USE", help="calibrate with an importance matrix: chat, code, math, creative, "
                                                    "or a .txt file (unlocks IQ2/IQ3 types)")
    p.add_argument("--tensor-type", dest="tensor_types", action="append", metavar="NAME=TYPE",
                   help="per-tensor override, e.g. output=q8_0, token_embd=q8_0, attn_v=q6_k (repeatable)")
    p.add_argument("--template", help="quantize as a saved template says (type, overrides, imatrix, gate)")
    p.add_argument("--gate", help='benchmark the result against a quality gate ("kld<0.03"); '
                                  "a failing artifact is marked rejected")
    p.add_argument("--chunks", type=number(Knob.CHUNKS), help="with --gate: benchmark windows (default 40)")
    p.add_argument("--method", "-m", help="gguf (default for Q… types), bnb, gptq")
    p.add_argument("--bits", type=int, action="append",
                   help="a bit width (repeat): the --method's type for it (--method gptq --bits 4 = GPTQ_4BIT)")
    p.add_argument("--double-quant", action="store_true",
                   help="bnb NF4/FP4: quantize the block scales too (NF4 -> NF4_DQ, FP4 -> FP4_DQ)")
    add_gptq_flags(p)
    p.add_argument("--out", help="output folder (default: the data dir's artifacts/<model>/)")
    p.add_argument("--force", action="store_true", help="rebuild even if the artifact exists")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow code from the model folder to run (*.py, auto_map, pickle weights); off by default")
    add_queue_flags(p)
    p.set_defaults(func=run)


def split_types(values: list[str]) -> list[str]:
    from lqmf.copilot.app.quantize import split

    return split(values)


def require_types(values: list[str]) -> list[str]:
    from lqmf.copilot.app.quantize import require_types as require

    return require(values)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import quantize as q
    from lqmf.copilot.app.types import human_bytes
    from lqmf.copilot.cli.output import console, print_json
    from lqmf.copilot.cli.progress import rich_progress

    check_queue_flags(args)
    gate, recipe = args.gate, {**q.recipe_of(args.imatrix, args.tensor_types), **gptq_recipe(args)}
    if args.template:
        qt, method, t_recipe, t_gate = q.from_template(args.template)
        args.types = args.types or [qt]
        args.method = args.method or method
        recipe, gate = {**t_recipe, **recipe}, gate or t_gate
    if not args.types and not args.bits:
        from lqmf.tools.errors import InvalidInput

        raise InvalidInput("quantize needs --type, --bits or --template", "e.g. lqmf quantize smollm2 --type Q4_K_M")
    types = require_types(args.types) if args.types else []
    if args.bits:
        from lqmf.copilot.app.quants import types_for

        types = types_for(types, args.bits, args.method)
    if args.double_quant:
        from lqmf.copilot.app.quants import double_quant

        types = double_quant(types)
    if args.queue:
        ids = q.queue(args.app, args.model, types, method=args.method, out_dir=args.out,
                      trust_remote_code=args.trust_remote_code, priority=args.priority,
                      not_before=args.not_before, recipe=recipe, gate=gate, chunks=args.chunks)
        return print_queued(ids, args)
    q.check_types(types, args.method)  # reject a bad type before any work starts
    results = q.quantize(args.app, args.model, types, method=args.method, out_dir=args.out, force=args.force,
                         trust_remote_code=args.trust_remote_code,
                         progress_for=lambda: rich_progress(enabled=not args.json), recipe=recipe, gate=gate,
                         chunks=args.chunks)
    if args.json:
        print_json([r.to_dict() for r in results])
    else:
        out = console()
        for r in results:
            out.print(f"[green]✓[/] {r.quant_type}: {r.artifact} ({human_bytes(r.size_bytes)}, "
                      f"{r.duration_s:.1f} s)")
            if r.gate:
                out.print(f"  [red]rejected[/] by the gate {r.gate}: {r.gate_failed}" if r.gate_failed
                          else f"  [green]passes[/] the gate {r.gate}")
    return 1 if any(r.gate_failed for r in results) else 0
