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
