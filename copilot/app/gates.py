"""Quality gates for every front end: parse one (an expression or a saved name),
save one per user, and check a run's numbers (tools/gates.py)."""
from __future__ import annotations

from typing import Any


def parse(text: str | None, *, use_default: bool = False) -> Any:
    """The Gate a flag names (an expression, or a saved gate's name); None for none.
    ``use_default``: with no text, the user's saved "default" gate."""
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.templates import DEFAULT_GATE, gate_text, saved_gates

    if (text is None or not text.strip()) and use_default:
        text = saved_gates().get(DEFAULT_GATE)
    return parse_gate(gate_text(text))


def save(name: str, expression: str) -> str:
    from lqmf.tools.templates import save_gate

    return save_gate(name, expression)


def saved() -> dict[str, str]:
    from lqmf.tools.templates import saved_gates

    return saved_gates()


def grammar() -> str:
    from lqmf.tools.gates import GRAMMAR

    return GRAMMAR


def from_slots(slots: dict) -> str | None:
    """A gate expression from the chat's slots: ``gate`` when the parser gives one,
    else the limits it does give (max_kld, max_ppl_delta_pct, max_size_gb, min_tok_s)."""
    if slots.get("gate"):
        return str(slots["gate"])
    parts = []
    if slots.get("max_kld") is not None:
        parts.append(f"kld<={float(slots['max_kld']):g}")
    if slots.get("max_ppl_delta_pct") is not None:
        parts.append(f"ppl_delta<={float(slots['max_ppl_delta_pct']):g}%")
    if slots.get("max_size_gb") is not None:
        parts.append(f"size<={float(slots['max_size_gb']):g}GB")
    if slots.get("min_tok_s") is not None:
        parts.append(f"tok_s>={float(slots['min_tok_s']):g}")
    return ",".join(parts) or None
