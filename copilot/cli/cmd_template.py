"""`lqmf template [NAME] [--type T --imatrix USE --tensor-type N=T --gate G]`:
list templates, show one, or save one (tune saves with --save-template)."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("template", help="list, show or save quantization templates",
                       description="A template is a recipe without a model (type, per-tensor overrides, imatrix "
                                   "text, gate); apply it with `lqmf quantize MODEL --template NAME`.")
    p.add_argument("name", nargs="?")
    p.add_argument("--type", "-t", dest="quant_type", help="save: the quant type")
    p.add_argument("--imatrix", metavar="USE")
    p.add_argument("--tensor-type", dest="tensor_types", action="append", metavar="NAME=TYPE")
    p.add_argument("--gate")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import tune as t
    from lqmf.copilot.app.quantize import recipe_of
    from lqmf.copilot.cli.output import console, print_json

    out = console()
    if args.name and args.quant_type:
        recipe = recipe_of(args.imatrix, args.tensor_types)
        overrides = {k[len("tensor:"):]: v for k, v in recipe.items() if k.startswith("tensor:")}
        t.save_template(args.name, args.quant_type, overrides=overrides, imatrix=recipe.get("imatrix"),
                        gate=args.gate)
        out.print(f"saved template {args.name}")
        return 0
    if args.name:
        tpl = t.template(args.name)
        if args.json:
            print_json(tpl.to_dict())
        else:
            for k, v in tpl.to_dict().items():
                out.print(f"{k}: {v}")
        return 0
    names = t.templates()
    if args.json:
        print_json(names)
    else:
        out.print("\n".join(names) if names else "no templates yet; `lqmf tune MODEL --gate ... --save-template NAME`")
    return 0
