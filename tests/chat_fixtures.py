"""A plain-mode chat for tests: the real REPL, parser, graph and checkpointer; jobs are the
scheduler's quick noop kind (the test hook), with no worker."""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def plain_chat(run_as: str | None = "noop") -> Iterator[Callable[[str], tuple[str, list, dict]]]:
    """``say(text)`` -> (what the REPL printed for it, the turn's tool calls, the pending question).
    ``run_as`` None: the real job kinds are queued (checked at submission; no worker runs them)."""
    from lqmf.copilot.app import testing
    from lqmf.copilot.io import IO
    from lqmf.copilot.repl import Repl
    from lqmf.copilot.session import Session

    with testing.install(testing.app(run_as, worker=False)):
        buf = io.StringIO()
        repl = Repl(Session(), IO(plain=True, stream=buf), interactive=False, wait=False)

        def say(text: str) -> tuple[str, list, dict]:
            start = buf.tell()
            repl.handle(text)
            t = repl.last_turn
            return buf.getvalue()[start:], (t.calls if t else []), (repl.session.pending() or {})
        yield say
