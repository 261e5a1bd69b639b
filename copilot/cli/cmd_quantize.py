"""`lqmf quantize MODEL --type Q4_K_M [--out DIR]`"""
from __future__ import annotations

import argparse

from lqmf.copilot.cli.queueing import add_queue_flags, check_queue_flags, submit_all


def register(sub) -> None:
    p = sub.add_parser("quantize", help="make quantized copies of a model",
                       description="Quantize a model (bundled name, HF folder, .gguf, or cached hub id).")
    p.add_argument("model", help="smollm2, ./my-hf-model, model.gguf, or org/name in the local HF cache")
    p.add_argument("--type", "-t", dest="types", action="append", required=True,
                   help="quant type (repeat or comma-separate): Q4_K_M, Q8_0, Q5_K_M, ...")
    p.add_argument("--method", "-m", help="gguf (default for Q… types), bnb, gptq")
    p.add_argument("--out", help="output folder (default: the data dir's artifacts/<model>/)")
    p.add_argument("--force", action="store_true", help="rebuild even if the artifact exists")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow code from the model folder to run (*.py, auto_map, pickle weights); off by default")
    add_queue_flags(p)
    p.set_defaults(func=run)


def split_types(values: list[str]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def require_types(values: list[str]) -> list[str]:
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.quantize.types import quant_types

    types = split_types(values)
    if not types:
        raise InvalidInput("--type is empty", "name at least one, e.g. " + ", ".join(t.value for t in quant_types()[1:5]))
    return types


def run(args: argparse.Namespace) -> int:
    from lqmf.tools.quantize import quantize, resolve_type
    from lqmf.tools.fsutil import human_bytes

    from lqmf.copilot.cli.output import console, print_json
    from lqmf.copilot.cli.progress import rich_progress

    check_queue_flags(args)
    types = require_types(args.types)
    for t in types:  # reject a bad type before any work starts
        resolve_type(t, args.method)
    if args.queue:
        return submit_all("quantize", [{"model": args.model, "quant_type": t, "method": args.method,
                                         "out_dir": args.out, "trust_remote_code": args.trust_remote_code or None}
                                        for t in types], args)
    results = []
    for t in types:
        with rich_progress(enabled=not args.json) as progress:
            results.append(quantize(args.model, t, method=args.method, out_dir=args.out,
                                    progress=progress, force=args.force,
                                    trust_remote_code=args.trust_remote_code))
    if args.json:
        print_json([{"artifact": str(r.artifact), "quant_type": r.quant_type, "method": r.method,
                     "size_bytes": r.size_bytes, "duration_s": round(r.duration_s, 3),
                     "record_id": r.record.id} for r in results])
    else:
        out = console()
        for r in results:
            out.print(f"[green]✓[/] {r.quant_type}: {r.artifact} ({human_bytes(r.size_bytes)}, "
                      f"{r.duration_s:.1f} s)")
    return 0

