"""`lqmf predict MODEL --type Q3_K_M [--imatrix code]`: predicted quality before any work."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict a quant's KLD and Δppl before quantizing",
                       description="Simulate the quantization error of a sample of the model's weights at the "
                                   "type's per-tensor types (as llama-quantize would choose them), and scale it to "
                                   "mean KLD / Δppl with this model's measured runs in the store.")
    p.add_argument("model")
    p.add_argument("--type", "-t", dest="types", action="append", required=True, help="quant types (comma-separate)")
    p.add_argument("--imatrix", metavar="USE", help="with an importance matrix from this calibration text")
    p.add_argument("--tensor-type", dest="tensor_types", action="append", metavar="NAME=TYPE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import tune as t
    from lqmf.copilot.app.quantize import require_types
    from lqmf.copilot.app.types import human_bytes
    from lqmf.copilot.cli.output import console, print_json

    preds = [t.predict(args.app, args.model, qt, imatrix=args.imatrix, tensor_types=args.tensor_types)
             for qt in require_types(args.types)]
    if args.json:
        print_json([p.to_dict() for p in preds])
        return 0
    out = console()
    for p in preds:
        bits = [f"weight error {p.error:.3g}" if p.error is not None else None,
                f"size {human_bytes(p.size_bytes)}" if p.size_bytes else None,
                f"KLD ≈ {p.kld_mean:.4f}" if p.kld_mean is not None else None,
                f"Δppl ≈ {p.ppl_delta_pct:+.1f}%" if p.ppl_delta_pct is not None else None]
        out.print(f"{p.quant_type}{' @' + p.recipe['imatrix'] if p.recipe.get('imatrix') else ''}: "
                  + ", ".join(b for b in bits if b))
        scale = (f"scaled by {p.history} measured run{'s' if p.history != 1 else ''} of {p.model}" if p.history
                 else "no measured run of this model yet: only the relative error is known")
        out.print(f"  [dim]{p.basis}; {scale}[/]")
    return 0
