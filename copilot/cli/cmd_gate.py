"""`lqmf gate [NAME EXPRESSION]`: list the saved quality gates, or save one
(the name "default" is used by `lqmf tune` when no --gate is given)."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("gate", help="list or save quality gates (kld<0.05,size<1GB)",
                       description="Without arguments: the saved gates. With NAME EXPRESSION: save the gate "
                                   "(checked first); --gate NAME then means it everywhere.")
    p.add_argument("name", nargs="?")
    p.add_argument("expression", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import gates
    from lqmf.copilot.cli.output import console, print_json

    if args.name and args.expression is None:
        g = gates.parse(args.name)   # check an expression, or show a saved one
        console().print(f"{args.name}: {g.text}")
        return 0
    if args.name:
        text = gates.save(args.name, args.expression)
        console().print(f"saved gate {args.name}: {text}")
        return 0
    saved = gates.saved()
    if args.json:
        print_json(saved)
    elif not saved:
        console().print("no saved gates; save one with `lqmf gate default \"kld<0.05\"`")
    else:
        for name, text in saved.items():
            console().print(f"{name}: {text}")
    return 0
