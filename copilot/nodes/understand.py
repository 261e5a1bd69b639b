"""understand: the turn's text -> intent + slots, with the parser of
copilot/parser/CONTRACT.md plus the conversation words of ``words``."""
from __future__ import annotations

import re

from lqmf.copilot.nodes import words
from lqmf.copilot.state import ChatState, Intent
from lqmf.tools.errors import LqmfError

FRAGMENT_SLOTS = ("quant_type", "quant_types", "bits", "method")
CONFIRM_BELOW = 0.5   # a reading less sure than this is confirmed ("Did you mean: ...?") before acting
# quant-type-shaped words ("q9_z", "Q7_K"): the parser ignores the ones that do not exist; the copilot names them
_TYPE_SHAPED = re.compile(r"(?<![\w/.-])(i?q\d{1,2}_[a-z0-9]{1,3}(?:_[a-z0-9]{1,3})?)(?![\w/.-])", re.I)
_PLACEHOLDER = "Q4_K_M"
# a task named without any verb ("smollm2 speed", "tinyllama tok/s"): read, but confirmed before acting
ACTIONS = ("quantize", "benchmark", "tune")
RECIPE_INTENTS = ("quantize", "unknown")   # "unknown": a change of a waiting plan ("with group size 32")
TERSE_WORDS = 3
_VERB = re.compile(r"\b(?:quanti[sz]e|quanti[sz]ing|bench(?:mark)?|measure|test|tune|make|convert|compress|shrink|"
                   r"run|do|give|create|build|profile|evaluate|check|time|try|find|search|optimi[sz]e|pick|squeeze|"
                   r"how|what|is|does|can|please|pls)\b")   # stands in for a made-up type so that the rest of the sentence is read as usual


def unknown_types(text: str) -> list[str]:
    """Quant types the user wrote that are no real type (upper case, in order)."""
    from lqmf.copilot.app.quantize import canonical_type

    bad = []
    for m in _TYPE_SHAPED.finditer(text):
        if canonical_type(m.group(1)) is None:
            bad.append(m.group(1).upper())
    return list(dict.fromkeys(bad))


def _with_real_type(text: str, bad: list[str], parse) -> tuple[str, dict] | None:
    """"make smollm2 a q3_z": the request read with a real type where the made-up one stands
    (its quant slots dropped), or None when that is no task either."""
    try:
        probe = parse(_TYPE_SHAPED.sub(lambda m: _PLACEHOLDER if m.group(1).upper() in bad else m.group(0), text))
    except Exception:
        return None
    if probe.get("intent") not in ("quantize", "benchmark", "compare", "tune"):
        return None
    return probe["intent"], {k: v for k, v in (probe.get("slots") or {}).items() if k not in FRAGMENT_SLOTS}


_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
_ASKS = re.compile(r"\b(?:could|can|would|will) you\b|\bplease\b|\bpls\b|\b(?:i'd like|i want|i need|let's|lets|go "
                   r"(?:with|for))\b|^\s*(?:now |then |so )?(?:quanti[sz]e|make|build|create|give me|do|benchmark|bench)\b")


def requested_types(text: str, types: list[str]) -> str | None:
    """The one type named in the one sentence that asks for something, when the others only tell a story."""
    from lqmf.copilot.app.quantize import canonical_type

    sentences = [s for s in _SENTENCE.split(text.strip()) if s.strip()]
    if len(sentences) < 2:
        return None
    asking = [s for s in sentences if _ASKS.search(s.lower())]
    if len(asking) != 1:
        return None
    named = {t for t in (canonical_type(w) for w in re.findall(r"[\w-]+", asking[0])) if t} & set(types)
    return named.pop() if len(named) == 1 else None


def interpret(text: str) -> tuple[str, dict]:
    """(intent, slots) for one utterance; never raises for odd text."""
    from lqmf.copilot.parser.topics import names_a_term
    if not text.strip():
        return Intent.TICK.value, {}
    from lqmf.copilot.parser import parse

    try:
        res = parse(text)
    except LqmfError as e:  # a parser setting that cannot be honoured: said once, the rules answer
        from lqmf.copilot.llm import warn_once

        warn_once(f"{e}; the built-in parser answers")
        res = parse(text, "builtin")
    except Exception:  # a parser bug must not end the conversation
        res = {"intent": "unknown", "slots": {}}
    intent = str(res.get("intent") or "unknown")
    slots = dict(res.get("slots") or {})
    alt = res.get("alternative")
    if intent == "unknown" and isinstance(alt, dict) and alt.get("intent") and not words.is_yes(text) \
            and not words.is_no(text) and words.ordinal(text) is None:
        intent, slots = str(alt["intent"]), {**dict(alt.get("slots") or {}), "unsure": True}
    elif intent != "unknown" and float(res.get("confidence", 1.0)) < CONFIRM_BELOW:
        slots["unsure"] = True
    elif intent in ACTIONS and len(text.split()) <= TERSE_WORDS and not _VERB.search(text.lower()):
        slots["unsure"] = True
    if res.get("chitchat"):
        slots["chitchat"] = str(res["chitchat"])
    if intent == "explain" and words.revises_to(text):
        intent, slots = "unknown", {}   # "actually use nf4 instead": the fragment's slots are read below
    bad = unknown_types(text)
    if bad:
        slots["bad_types"] = bad
        read = _with_real_type(text, bad, parse) if intent == "unknown" else None
        if read:
            intent, slots = read[0], {**slots, **read[1]}
    if intent == "unknown" and not (set(slots) - {"chitchat", "bad_types"}):
        # The parser keeps no slots for an utterance it cannot place; a follow-up
        # fragment ("actually use 5 bits") still names quant slots: read those.
        try:
            probe = parse("quantize it " + text).get("slots") or {}
        except Exception:
            probe = {}
        t = words.norm(text)
        keep = (*FRAGMENT_SLOTS, "model") if words.SAME.search(t) or words.CORRECTION.search(t) \
            or words.FOR_ANOTHER.match(t) else FRAGMENT_SLOTS
        slots.update({k: v for k, v in probe.items() if k in keep})
    slots.update(words.extras(text, intent))
    if intent in ("compare", "explain", "unknown") and len(slots.get("quant_types") or []) > 1:
        first = words.extras(text, "quantize").get("start_with")
        if first in slots["quant_types"]:   # "can't choose between X and Y, let's begin with X": a task, one type first
            intent = "benchmark" if re.search(r"\bbench(?:mark)?\w*\b|\bmeasure\b", text.lower()) else "quantize"
            slots = {**{k: v for k, v in slots.items() if k != "unsure"}, "start_with": first}
    if intent in ("quantize", "benchmark") and len(slots.get("quant_types") or []) > 1 and not slots.get("start_with"):
        asked = requested_types(text, [str(q) for q in slots["quant_types"]])
        if asked:   # "everyone says Q4_K_M is the sweet spot. Could you make a Q5_K_M?": the type asked for
            slots = {**{k: v for k, v in slots.items() if k not in ("quant_types", "bits")}, "quant_type": asked}
    if intent in RECIPE_INTENTS:
        from lqmf.copilot.nodes.recipe_words import read as read_recipe

        recipe = read_recipe(text)   # "gptq with group size 64", "with an imatrix": the copilot's extra, not a slot
        if recipe:
            slots["recipe"] = recipe
    if words.asks_inventory(text, intent, slots) or (intent in ("unknown", "help", "query") and words.asks_whats_here(text)):
        return Intent.MODELS.value, {}
    if intent in ("unknown", "help", "explain") and words.is_lost(text) and not (intent == "explain" and names_a_term(text)):
        return Intent.HELP.value, {}
    n = words.ordinal(text)
    if n is not None and intent in ("unknown", "query", "jobs"):
        intent, slots = Intent.PICK.value, {"pick": n}
    elif intent == "unknown" and words.is_yes(text):
        slots["affirm"] = True
    elif intent == "unknown" and words.is_no(text):
        slots["deny"] = True
    return intent, slots


def _recommendation_shown(state: ChatState) -> bool:
    rows = state.get("listing") or []
    return bool(rows) and "why" in rows[0] and "quant_type" in rows[0]


def recommend_followup(text: str, intent: str, slots: dict, state: ChatState) -> tuple[str, dict]:
    """After a recommendation: "too slow" / "too lossy" / "rate it 4" is feedback on it, and
    "quantize the first one" picks a row of it (``resolve`` reads ``pick``)."""
    from lqmf.copilot.app.recommend import read_feedback

    if not text.strip():
        return intent, slots
    fb = read_feedback(text)
    last = (state.get("focus") or {}).get("last_request") or {}
    if fb and not _recommendation_shown(state) and last.get("intent") == Intent.QUANTIZE and words.resizes(text):
        fb = None   # "same again but smaller" after a quantize: that quantize at another type (resolve)
    if fb and (intent == Intent.UNKNOWN or _recommendation_shown(state)) and intent != Intent.RECOMMEND:
        return Intent.RECOMMEND.value, {"feedback": fb[0], **({"rating": fb[1]} if fb[1] else {})}
    if _recommendation_shown(state) and not slots.get("model"):
        n = words.ordinal_in(text)
        if n is not None:
            # "quantize the last one" right after a recommendation names one of its rows, whatever
            # the parser guessed on its own ("the first one" alone also reads as the oldest run)
            verb = _PICK_VERB.search(text.lower())
            if verb or intent in (Intent.QUANTIZE, Intent.BENCHMARK):
                act = intent if intent in (Intent.QUANTIZE, Intent.BENCHMARK) else \
                    (Intent.BENCHMARK.value if verb and verb.group(1) in _BENCH_WORDS else Intent.QUANTIZE.value)
                slots = {**{k: v for k, v in slots.items() if k not in ("unsure", "sort", "order", "limit")},
                         "pick": n}
                return str(act), slots
    return intent, slots


_BENCH_WORDS = ("benchmark", "bench", "measure", "test")
_PICK_VERB = re.compile(r"\b(quantize|quantise|make|build|convert|get|benchmark|bench|measure|test)\b")


def understand(state: ChatState) -> dict:
    from lqmf.copilot.tutoring import intercept

    text = state.get("text", "")
    intent, slots = intercept(text, state) or interpret(text)
    intent, slots = recommend_followup(text, intent, slots, state)
    update: dict = {"intent": intent, "slots": slots, "request": None, "plan": [],
                    "question": None, "confirmed": False}
    if intent != Intent.TICK:
        update["history"] = [{"role": "user", "text": text}]
    return update
