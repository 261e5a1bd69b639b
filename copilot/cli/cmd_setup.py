"""`lqmf setup`: install-time steps (the converter from the llama-cpp-python
sdist), then the self-check of every bundled model."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("setup", help="take llama.cpp's HF→GGUF converter from the sdist, then self-check")
    p.add_argument("--force", action="store_true", help="fetch the converter again")
    p.add_argument("--no-check", action="store_true", help="skip the self-check of the bundled models")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import doctor
    from lqmf.tools.errors import BackendFailed

    path = doctor.install_converter(args.app, force=args.force)
    print(f"converter ready: {path}")
    if args.no_check:
        return 0
    for chk in doctor.self_check(args.app):
        if not chk.ok:
            raise BackendFailed(f"self-check failed for the bundled model {chk.model}: {chk.message}")
        print(f"self-check {chk.model}: {chk.message} ({chk.seconds:.1f} s)")
    return 0
