"""The application layer: one typed function per capability (quantize,
benchmark, jobs, sweep, query, compare, export, models, doctor), with typed
results and the project's errors (``lqmf.tools.errors``). Every front end
(the ``lqmf`` CLI, the chat's tools and nodes, the REPL, voice, and next the
REST API and the dashboard) calls only this layer; none imports an engine.

Each function takes the ``App`` (``context.App``) first: it holds what the
functions depend on (the experiment store, the job queue, the LLM, the
clock). Production code uses ``App.default()``; tests pass an ``App`` of
their own (``testing.py``). Importing this package is cheap: every engine
is imported inside the function that needs it.
"""
from __future__ import annotations

from lqmf.copilot.app.context import App

__all__ = ["App"]
