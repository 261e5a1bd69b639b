"""The dependencies of the application layer, in one object passed to every
capability (and to the chat graph's nodes through LangGraph's runtime
context): the experiment store, the job queue, the LLM and the clock."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lqmf.copilot.app.jobs import JobQueue

Reply = Callable[[str, list[dict]], str]


def _default_jobs() -> "JobQueue":
    from lqmf.copilot.app.jobs import JobQueue

    return JobQueue()


def _default_store() -> Any:
    from lqmf.tools.store.experiments import default_store

    return default_store()


def _default_llm() -> Reply | None:
    from lqmf.copilot import llm

    return llm.provider()


@dataclass
class App:
    """What the capabilities depend on. Each field is a factory or a value that
    tests may replace with a fake where the edge is not ours:

    - ``jobs``: the job queue (``app.jobs.JobQueue``; the scheduler's job store);
    - ``open_store``: opens the experiment store (called once, on first use);
    - ``llm``: returns the free-form reply function, or None without an LLM
      (``copilot.llm.provider``; called once, on first use);
    - ``clock``: seconds since the epoch (``time.time``).
    """

    jobs: "JobQueue" = field(default_factory=_default_jobs)
    open_store: Callable[[], Any] = _default_store
    llm: Callable[[], Reply | None] = _default_llm
    clock: Callable[[], float] = time.time
    _store: Any = field(default=None, init=False, repr=False)
    _reply: Any = field(default=None, init=False, repr=False)
    _reply_known: bool = field(default=False, init=False, repr=False)
    _opening: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @classmethod
    def default(cls) -> "App":
        """The production App (the real store, scheduler and configured LLM), or the
        one a test installed with ``testing.install`` (the documented test hook)."""
        from lqmf.copilot.app import testing

        return testing.installed() or cls()

    def store(self) -> Any:
        """The experiment store, opened on first use (Chroma when installed); one
        opening at a time (the server's threads ask at once)."""
        if self._store is None:
            with self._opening:
                if self._store is None:
                    self._store = self.open_store()
        return self._store

    def reply(self, text: str, history: list[dict]) -> str | None:
        """A free-form answer from the LLM, or None (none configured, or it failed)."""
        import logging

        if not self._reply_known:
            self._reply, self._reply_known = self.llm(), True
        if self._reply is None:
            return None
        try:
            return self._reply(text, history) or None
        except Exception as e:  # the endpoint went away: the copilot goes on without
            logging.getLogger(__name__).warning("the LLM failed (%s)", e)
            return None
