"""tutor: after each turn, check the current tutorial step against the real
state and move on, or say what is missing (copilot/tutoring.py)."""
from __future__ import annotations

from lqmf.copilot.state import ChatState
from lqmf.copilot.tutoring import after_turn


def tutor(state: ChatState) -> dict:
    return after_turn(state)
