"""`lqmf parse TEXT` / `lqmf parse -`: the request parser, one JSON object per utterance."""
from __future__ import annotations

import argparse
import json
import sys

INVALID_UTF8 = {"intent": "unknown", "slots": {}, "error": "line is not valid UTF-8"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="turn a request into intent + slots (JSON), without running it",
                       description="Parse one utterance, or one per line from stdin with '-', into "
                                   "{\"intent\", \"slots\"} JSON (copilot/parser/CONTRACT.md).")
    p.add_argument("text", nargs="+", help="the utterance, or '-' to read one per line from stdin")
    p.add_argument("--mode", choices=["builtin", "llm", "hybrid"], default=None,
                   help="parser to use (default: config.toml 'parser', LQMF_PARSER, else builtin); "
                        "llm and hybrid need a model you name in [parser_llm] (a larger .gguf or an endpoint); "
                        "the bundled SmolLM2 is not offered for parsing (far less accurate)")
    p.set_defaults(func=handle)


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _safe_parse(text: str, mode: str | None) -> dict:
    from lqmf.copilot.parser import parse

    try:
        return parse(text, mode)
    except Exception as e:  # noqa: BLE001 - one bad line must not end the run
        from lqmf.tools.errors import LqmfError

        if isinstance(e, LqmfError):
            raise
        return {"intent": "unknown", "slots": {}, "error": f"parser failed: {type(e).__name__}"}


def handle(args: argparse.Namespace) -> int:
    from lqmf.copilot.parser import load, parse_mode

    mode = parse_mode(args.mode).value if args.mode else load().mode.value
    if args.text != ["-"]:
        _emit(_safe_parse(" ".join(args.text), mode))
        return 0
    stream = sys.stdin.buffer
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            _emit(dict(INVALID_UTF8))
            continue
        _emit(_safe_parse(text, mode))
    sys.stdout.flush()
    return 0
