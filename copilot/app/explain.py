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


def recommend(app: "App", slots: dict) -> list[dict]:
    """A model and quant type for a need (task, memory, device), as output blocks."""
    from lqmf.copilot import advice

    return advice.recommend(slots)
