"""`lqmf` command line. Each subcommand lives in ``copilot/cli/cmd_<name>.py``
and exposes ``register(subparsers)``; they are found here at start-up, so
adding a command touches no other file. Command modules import heavy
libraries inside their handlers only, to keep start-up fast."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import signal
import sys
import threading
from collections.abc import Iterator

from lqmf.tools.errors import Interrupted, LqmfError, escape_controls, from_os_error

# The order commands are listed in `lqmf --help`; any other cmd_* module follows.
ORDER = ["chat", "quantize", "bench", "models", "parse", "query", "compare", "export",
         "jobs", "worker", "doctor", "setup"]


def _command_modules() -> list[str]:
    found = {m.name[4:] for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def build_parser() -> argparse.ArgumentParser:
    from lqmf.copilot.cli.args import Parser

    parser = Parser(
        prog="lqmf", description="LQMF Copilot: quantize, benchmark and compare local LLMs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        importlib.import_module(f"{__name__}.cmd_{name}").register(sub)
    return parser


def fail(message: str, code: int = 2) -> int:
    """The one place an error reaches the user from the command line (control
    characters from names the user typed are shown escaped, not raw)."""
    print(f"error: {escape_controls(message)}", file=sys.stderr)
    return code


class Terminated(SystemExit):
    """SIGTERM (``kill``, ``timeout``, a container stopping): raised in the main
    thread so that every ``finally`` and temp-file cleanup runs, as for Ctrl-C."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated(143)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Python's default SIGTERM ends the process at once, leaving a half-written
    artifact's hidden work folder behind; turn it into an exception instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: list[str] | None = None, app=None) -> int:
    """Run one command. ``app``: the application layer's dependencies
    (``lqmf.copilot.app.App``; the default one unless a test passes its own)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with _stop_on_sigterm():
            if app is None:
                from lqmf.copilot.app import App

                app = App.default()
            args.app = app
            code = int(args.func(args) or 0)
        _notify(args, code)
        return code
    except Terminated:
        return fail(str(Interrupted("stopped by SIGTERM", "temporary files were removed; run it again to start clean")), 143)
    except KeyboardInterrupt:
        return fail(str(Interrupted("interrupted", "temporary files were removed; run it again to start clean")), 130)
    except LqmfError as e:
        _notify(args, e.exit_code, str(e))
        return fail(str(e), e.exit_code)
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file problem no engine mapped: still one sentence, never a traceback
        return fail(str(from_os_error(e)), 2)


def _notify(args, code: int, error: str | None = None) -> None:
    """``--notify`` (long commands): tell the user it ended."""
    if getattr(args, "notify", False):
        from lqmf.copilot.cli.notify import after

        after(args, code, error)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
