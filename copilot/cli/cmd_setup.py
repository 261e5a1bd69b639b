"""`lqmf setup`: install-time steps that need the package registry once."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("setup", help="take llama.cpp's HF→GGUF converter from the llama-cpp-python sdist")
    p.add_argument("--force", action="store_true", help="fetch it again")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tools.llamacpp.sdist import install_converter

    path = install_converter(force=args.force)
    print(f"converter ready: {path}")
    return 0
