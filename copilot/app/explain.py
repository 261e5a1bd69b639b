"""Explain, help and recommend: the copilot's own knowledge (``copilot/explain.py``,
``copilot/advice.py``) behind the same layer as the engines."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


def explain(app: "App", topic: str | None = None, question: str | None = None) -> str:
    """An explanation from the bundled docs (and the LLM, when one is configured)."""
    from lqmf.copilot import explain as ex

    return ex.explain(topic, question=question, reply=app.reply, store=app.store())


def help_text() -> str:
    from lqmf.copilot import explain as ex

    return ex.HELP


def recommend(app: "App", slots: dict) -> tuple[list[dict], list[dict]]:
    """A recommendation for a need (task, memory, device) as output blocks, and its
    rows (for "quantize the first one"); feedback slots (``feedback``, ``rating``)
    store a preference first and say what changed (``app.recommend``)."""
    from lqmf.copilot import advice
    from lqmf.copilot.app import recommend as rec

    if slots.get("feedback"):
        got = rec.feedback(app, str(slots["feedback"]), slots.get("rating"))
    else:
        keys = ("task", "vram_gb", "ram_gb", "device", "max_size_gb", "model", "method", "min_tok_s", "hint")
        got = rec.recommend(app, slots.get("task"), **{k: slots[k] for k in keys[1:] if slots.get(k) is not None})
    if not got.rows and not got.nearest:
        from lqmf.copilot import render

        return [render.text(got.changed or "Nothing to recommend.")], []
    return advice.blocks(got), got.rows
