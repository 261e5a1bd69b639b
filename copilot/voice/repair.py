"""Slots the parser could not read from a transcript whose words a speech
recognizer dropped or garbled, filled or cleaned after the parse (voice turns
only; typed text is parsed as it is):

- a cancel or jobs request with no job id, whose transcript carries one bare
  number ("stop, dump 5": "job" was misheard) -> that number is the job id;
- a tutorial or explain topic that is only filler words ("begin at tutorial"
  -> topic "at") is dropped, and leading filler is trimmed ("start in the
  first tutorial" -> "first")."""
from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\w.\-])(\d{1,6})(?![\w.\-]|\.\d)")
_FILLER = re.compile(r"^(?:(?:in|at|on|a|an|the|to|of|for|with|me|my|it)\s+)+")
_ONLY_FILLER = re.compile(r"^(?:in|at|on|a|an|the|to|of|for|with|me|my|it)$")
_JOB_INTENTS = ("cancel", "jobs")


def repair(parse: dict, text: str) -> dict:
    """The parse, with the slots above filled or cleaned; a new dict when anything changed."""
    intent = parse.get("intent")
    slots = dict(parse.get("slots") or {})
    changed = False
    if intent in _JOB_INTENTS and "job_id" not in slots:
        numbers = _NUMBER.findall(text)
        if len(numbers) == 1:
            slots["job_id"] = numbers[0]
            changed = True
    topic = slots.get("topic")
    if intent in ("tutorial", "explain") and isinstance(topic, str):
        trimmed = _FILLER.sub("", topic).strip()
        if not trimmed or _ONLY_FILLER.match(trimmed):
            slots.pop("topic")
            changed = True
        elif trimmed != topic:
            slots["topic"] = trimmed
            changed = True
    return {**parse, "slots": slots} if changed else parse
