"""How a node reaches its dependencies: the ``App`` (store, job queue, LLM,
clock) comes through LangGraph's runtime context (``graph.build`` declares
``context_schema=App``; ``Session`` passes its App with every run), so a test
passes fakes where the edge is not ours and no node keeps a module global."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lqmf.copilot.app import App


def app_of(runtime: Any) -> "App":
    """The App of this run (the default one when the graph is run without a context)."""
    ctx = getattr(runtime, "context", None)
    if ctx is not None:
        return ctx
    from lqmf.copilot.app import App

    return App.default()


def thread_of(config: Any) -> str | None:
    return ((config or {}).get("configurable") or {}).get("thread_id")
