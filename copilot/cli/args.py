"""Argument types for the CLI: every number is checked against tools/limits.py,
so a bad value is one sentence before any work starts."""
from __future__ import annotations

import argparse

from lqmf.tools.errors import InvalidInput
from lqmf.copilot.app.types import Knob, check


def number(knob: Knob):
    """An argparse ``type=`` for ``knob``: its range, or one sentence."""
    def parse(text: str):
        try:
            return check(knob, text)
        except InvalidInput as e:
            raise argparse.ArgumentTypeError(str(e).rstrip(".").split(f"--{knob.value} ", 1)[-1]) from None
    parse.__name__ = knob.value  # argparse names the type in its message
    return parse


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: lqmf bench: argument --ctx: ...``."""

    def error(self, message: str):  # argparse API
        import sys

        from lqmf.tools.errors import escape_controls

        sys.stderr.write(f"error: {self.prog}: {escape_controls(message)} (see `{self.prog} --help`).\n")
        sys.exit(2)


def add_gptq_flags(p: argparse.ArgumentParser) -> None:
    """GPTQ's options, the same on quantize and bench (recorded in the artifact's recipe)."""
    p.add_argument("--group-size", dest="group_size", type=int, metavar="N",
                   help="GPTQ: weights per scale (32, 64, 128 ...; -1 = one per row; default: the first of "
                        "128, 64, 32 that divides every matrix width)")
    p.add_argument("--desc-act", dest="desc_act", action=argparse.BooleanOptionalAction, default=None,
                   help="GPTQ: quantize columns in order of activation size (default off)")
    p.add_argument("--calibration", metavar="TEXT",
                   help="GPTQ: calibrate on chat, code, math, creative or a .txt file "
                        "(default: the evaluation text's held-out part)")


def gptq_recipe(args: argparse.Namespace) -> dict[str, str]:
    from lqmf.copilot.app.quantize import recipe_of

    return recipe_of(group_size=args.group_size, desc_act=args.desc_act, calibration=args.calibration)
