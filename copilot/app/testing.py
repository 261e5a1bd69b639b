"""The test hook: an ``App`` whose job queue stands in a quick scheduler kind
for the long ones, and the way tests and evals install it.

Production code never reads this module's state from the environment or the
config: only a test or an eval calls ``install`` (in-process), or runs the CLI
through this module (a subprocess), which installs the App it is told before
``lqmf.copilot.cli.main``:

    python -m lqmf.copilot.app.testing [--jobs noop|sleep:SECONDS|real] [--worker] -- chat --script -

Nodes and tools still receive the App through their context; ``install`` only
decides what ``App.default()`` returns.

    app = testing.app(run_as="noop", worker=False)   # jobs stay queued, do nothing
    with testing.install(app): ...
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from lqmf.copilot.app.context import App
from lqmf.copilot.app.jobs import JobQueue

_installed: list[App] = []


class StandInJobs(JobQueue):
    """A real job queue (real rows in the real job store) that queues a quick kind
    instead of quantize/benchmark: ``run_as`` "noop", or "sleep:SECONDS"."""

    def __init__(self, run_as: str = "noop", *, worker: bool = False):
        super().__init__(worker=worker)
        self.run_as = run_as

    def prepare(self, kind: str, args: dict) -> tuple[str, dict]:
        if self.run_as.startswith("sleep"):
            return "sleep", {"seconds": float(self.run_as.partition(":")[2] or 1)}
        return "noop", {}


def app(run_as: str | None = "noop", *, worker: bool = False, **fields: Any) -> App:
    """An App for tests: ``run_as`` None keeps the real kinds (still ``worker`` as asked)."""
    jobs = JobQueue(worker=worker) if not run_as else StandInJobs(run_as, worker=worker)
    return App(jobs=jobs, **fields)


@contextlib.contextmanager
def install(test_app: App) -> Iterator[App]:
    """Make ``App.default()`` return ``test_app`` inside the block."""
    _installed.append(test_app)
    try:
        yield test_app
    finally:
        _installed.remove(test_app)


def installed() -> App | None:
    return _installed[-1] if _installed else None


def command(*, jobs: str = "noop", worker: bool = False) -> list[str]:
    """The argv prefix that runs ``lqmf`` under this hook (for subprocess tests)."""
    import sys

    return [sys.executable, "-m", "lqmf.copilot.app.testing", "--jobs", jobs, *(["--worker"] if worker else []), "--"]


def main(argv: list[str] | None = None) -> int:
    import argparse

    from lqmf.copilot.app import testing as hook  # this module, by its name (not __main__)
    from lqmf.copilot.cli import main as cli_main

    ap = argparse.ArgumentParser(prog="python -m lqmf.copilot.app.testing", description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", default="noop", help="noop, sleep:SECONDS, or real (the real kinds)")
    ap.add_argument("--worker", action="store_true", help="start a background worker after a submit")
    ap.add_argument("rest", nargs=argparse.REMAINDER, help="-- then the lqmf arguments")
    args = ap.parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    with hook.install(hook.app(None if args.jobs == "real" else args.jobs, worker=args.worker)) as test_app:
        return cli_main(rest, app=test_app)


if __name__ == "__main__":
    raise SystemExit(main())
