"""understand: the turn's text -> intent + slots, with the parser of
contracts/parse.md plus the conversation words of ``words``."""
from __future__ import annotations

from copilot.nodes import words
from copilot.state import ChatState, Intent

FRAGMENT_SLOTS = ("quant_type", "quant_types", "bits", "method")


def interpret(text: str) -> tuple[str, dict]:
    """(intent, slots) for one utterance; never raises for odd text."""
    if not text.strip():
        return Intent.TICK.value, {}
    from copilot.parser import parse

    try:
        res = parse(text)
    except Exception:  # a parser bug must not end the conversation
        res = {"intent": "unknown", "slots": {}}
    intent = str(res.get("intent") or "unknown")
    slots = dict(res.get("slots") or {})
    if intent == "unknown" and not slots:
        # The parser keeps no slots for an utterance it cannot place; a follow-up
        # fragment ("actually use 5 bits") still names quant slots: read those.
        try:
            probe = parse("quantize it " + text).get("slots") or {}
        except Exception:
            probe = {}
        slots = {k: v for k, v in probe.items() if k in FRAGMENT_SLOTS}
    slots.update(words.extras(text, intent))
    n = words.ordinal(text)
    if n is not None and intent in ("unknown", "query", "jobs"):
        intent, slots = Intent.PICK.value, {"pick": n}
    elif intent == "unknown" and words.is_yes(text):
        slots["affirm"] = True
    elif intent == "unknown" and words.is_no(text):
        slots["deny"] = True
    return intent, slots


def understand(state: ChatState) -> dict:
    text = state.get("text", "")
    intent, slots = interpret(text)
    update: dict = {"intent": intent, "slots": slots, "request": None, "plan": [],
                    "question": None, "confirmed": False}
    if intent != Intent.TICK:
        update["history"] = [{"role": "user", "text": text}]
    return update
