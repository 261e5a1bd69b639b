"""Follow-ups: turn this utterance's intent + slots into a full request by
resolving it against the conversation ("now do Q8_0", "benchmark it",
"compare them", "actually use 5 bits")."""
from __future__ import annotations

import re
from collections.abc import Mapping

from lqmf.copilot.state import ChatState, Intent

QUANT_SLOTS = ("quant_type", "quant_types", "bits", "method")
EXTRAS = ("revise", "ref", "and_benchmark", "affirm", "deny", "pick", "model_from_focus", "replace_jobs",
          "unsure", "chitchat", "bad_types", "fetch_first", "same", "others", "resize", "recipe", "start_with",
          "deferred")
TASK_INTENTS = (Intent.QUANTIZE, Intent.BENCHMARK, Intent.TUNE)


def public_slots(slots: dict) -> dict:
    """Slots of the parse contract only (what the tools accept)."""
    return {k: v for k, v in slots.items() if k not in EXTRAS}


# questions a follow-up can narrow or widen ("actually make it 8GB", "only the ones under 1 gb")
QUESTIONS = (Intent.QUERY, Intent.RECOMMEND)
# how a follow-up starts; a fresh question names its own needs and is not merged with the last one
_FOLLOW_UP = re.compile(r"^\s*(?:actually|what about|how about|and|make it|make that|instead|only|just|hmm+|ok(?:ay)?|"
                        r"now|same|but|rather|then|no,?|with|under|over|below|above|less than|more than|at most|"
                        r"at least|change it to|what if|which one|which of (?:them|those|these)|of (?:them|those|these)|"
                        r"among (?:them|those|these))\b")
# "which one ...?" about the two things a comparison just named
_WHICH_ONE = re.compile(r"\bwhich(?:'s| one| of (?:them|those|these|the two)| is| would| should)\b")
_OTHER_MODEL = re.compile(r"\bother (?:model|llm|one of the models)\b")
# how a question about one more topic starts, after an explanation ("and top-1?", "what about imatrix")
_ALSO = re.compile(r"^\s*(?:(?:ok|okay|right|cool|great|nice|thanks|i see|got it)[.,!]?\s+)?"
                   r"(?:and|also|plus|what about|how about|and what about|and how about|same for|same with)\b")
# a probe that reads a fragment's slots as a whole question of that kind would
_AGAIN_WITH = re.compile(r"^\s*(?:(?:ok|okay|now|and|then|so)[,]?\s+)*(?:what|how) about\b|\binstead\b|"
                         r"^\s*(?:and|now|then)\b")
_PROBE = {Intent.QUERY: "show my models ", Intent.RECOMMEND: "recommend a model "}
# the sizes a question can name, and the words that say which one a number is
SIZES = {"vram_gb": re.compile(r"\b(?:vram|gpu|card|graphics)\b"),
         "ram_gb": re.compile(r"\b(?:ram|memory|system|laptop|machine)\b"),
         "max_size_gb": re.compile(r"\b(?:under|below|less|smaller|at most|max(?:imum)?|size|fits?|within)\b")}


def follow_up(intent: str, slots: dict, text: str, focus: dict, last_tool: str | None = None) -> tuple[str, dict] | None:
    """"actually make it 8GB" after a recommendation: the last query or recommendation again,
    with what this utterance changes; None when it is no follow-up of one. ``last_tool``: the
    tool the last turn called (a "which one" or "the other one" reads only the turn just before)."""
    last = dict(focus.get("last_question") or {})
    if not last.get("intent") or not text.strip():
        return None
    kind = Intent(last["intent"])
    if slots.get("model"):
        if slots.get("same") and intent == Intent.UNKNOWN and last_tool == kind.value and \
                kind in (Intent.QUERY, Intent.COMPARE):   # "what runs do I have for smollm2?" ... "and for gemma?"
            return kind.value, {**{k: v for k, v in last.items() if k != "intent"}, "model": slots["model"]}
        return None
    if kind == Intent.COMPARE and last_tool == kind.value and intent in (Intent.UNKNOWN, Intent.EXPLAIN, Intent.COMPARE) \
            and _AGAIN_WITH.search(text.lower()):
        # "compare q5_k_m and q6_k" ... "what about q3_k_m vs q2_k instead": the same comparison, other types
        from lqmf.copilot.parser import parse

        probe = dict(parse("compare " + text).get("slots") or {}) if intent != Intent.COMPARE else slots
        new = {k: probe[k] for k in ("quant_types", "methods") if probe.get(k)}
        if new:
            return kind.value, {**{k: v for k, v in last.items() if k not in ("intent", "quant_types", "methods")},
                                **new}
    if kind == Intent.EXPLAIN:   # "and top-1 agreement?" right after an explanation: explain that too
        lead = _ALSO.match(text.lower())
        rest = text[lead.end():].strip(" ?.!,") if lead and intent == Intent.UNKNOWN and not slots.get("chitchat") \
            else ""
        if rest:
            return Intent.EXPLAIN.value, {"topic": rest}
        topic = str(last.get("topic") or "")
        if intent == Intent.COMPARE and last_tool == "explain" and topic and _WHICH_ONE.search(text.lower()) \
                and not any(slots.get(k) for k in (*QUANT_SLOTS, "quant_types", "methods")):
            # "gguf vs gptq?" ... "which one is faster on a gpu?": the things just explained, not results
            return Intent.EXPLAIN.value, {"topic": topic, "question": f"{topic}: {text}"}
        return None
    if slots.get("ref") == "other" and last.get("model") and last_tool == kind.value and \
            kind in (Intent.QUERY, Intent.COMPARE) and not any(slots.get(k) for k in QUANT_SLOTS):
        other = other_model(str(last["model"]))
        if other:   # "what runs do I have for smollm2?" ... "and the other one?"
            return kind.value, {**{k: v for k, v in last.items() if k != "intent"}, "model": other}
    if intent not in (Intent.UNKNOWN, kind) or (intent == kind and not _FOLLOW_UP.search(text.lower())) \
            or kind not in _PROBE:   # a compare is followed up only on another model (above)
        return None
    new = {k: v for k, v in slots.items() if k not in EXTRAS and v is not None}
    if not new:
        from lqmf.copilot.parser import parse

        try:
            new = dict(parse(_PROBE[kind] + text).get("slots") or {})
        except Exception:
            return None
    if not new:
        return None
    sized = [k for k in SIZES if k in new]
    named = [k for k in SIZES if SIZES[k].search(text.lower())]
    had = [k for k in SIZES if last.get(k) is not None]
    if len(sized) == 1 and not named and len(had) == 1 and sized != had:
        # a bare size ("make it 8GB") changes the size the last question named (its card, its RAM, its limit)
        new[had[0]] = new.pop(sized[0])
        if had[0] != "vram_gb" and new.get("device") == "gpu":
            new.pop("device")
    return str(kind), {**{k: v for k, v in last.items() if k != "intent"}, **new}


def resolve(state: ChatState) -> dict:
    """The request for this turn: ``{"intent": ..., **slots}``."""
    intent = state.get("intent") or Intent.UNKNOWN.value
    slots = dict(state.get("slots") or {})
    focus = state.get("focus") or {}
    calls = state.get("calls") or []
    last_tool = calls[-1]["tool"] if calls else None
    again = follow_up(intent, slots, state.get("text") or "", dict(focus), last_tool)
    if again:
        intent, slots = again
    last = dict(focus.get("last_request") or {})
    has_quant = any(slots.get(k) for k in QUANT_SLOTS)
    if slots.get("ref") == "other" and not slots.get("model"):
        others = other_items(focus)
        if others and intent in (Intent.UNKNOWN, Intent.BENCHMARK) and \
                (intent == Intent.BENCHMARK or last.get("intent") == Intent.BENCHMARK):
            return {"intent": Intent.BENCHMARK.value, **{k: v for k, v in slots.items() if k != "ref"},
                    "others": others, "model": others[0]["model"]}
        if last.get("deferred") and intent in (Intent.UNKNOWN, last.get("intent")) and not has_quant:
            # "now the other one" after "let's start with q4_k_s": the type that was put off
            base = {k: v for k, v in last.items() if k not in (*QUANT_SLOTS, "intent", *EXTRAS)}
            rest: list[str] = list(last.get("deferred") or [])  # type: ignore[call-overload]
            return {"intent": str(last["intent"]), **base, "quant_type": rest[0],
                    **({"deferred": rest[1:]} if rest[1:] else {})}
    if slots.get("ref") == "other" and not slots.get("model") and last.get("intent") in TASK_INTENTS \
            and (_OTHER_MODEL.search((state.get("text") or "").lower())
                 or not other_items(focus) and not last.get("deferred")) \
            and (intent in (Intent.UNKNOWN, last["intent"]) or slots.get("unsure")):
        other = other_model(str(last.get("model") or focus.get("model") or ""))
        if other:   # "and for the other model?": the same task on the one other model on this machine
            base = {k: v for k, v in last.items() if k not in ("model", "intent", *EXTRAS)}
            return {"intent": str(last["intent"]), **base, "model": other}
    if slots.get("resize") and last.get("intent") == Intent.QUANTIZE and not slots.get("model") \
            and not has_quant and last.get("quant_type"):
        from lqmf.copilot.app.quants import step_type

        qt = step_type(str(last["quant_type"]), slots["resize"] == "smaller")
        if qt:   # "same again but smaller": the last quantize, one type down (or up)
            base = {k: v for k, v in last.items() if k not in (*QUANT_SLOTS, "intent", *EXTRAS)}
            return {"intent": Intent.QUANTIZE.value, **base, "quant_type": qt}

    # "now do Q8_0", "actually use 5 bits", "same at 8 bit": the last task again, changed
    inherit = (intent == Intent.UNKNOWN and (has_quant or (slots.get("same") and slots.get("model")))) or \
              (intent in TASK_INTENTS and slots.get("revise") and not slots.get("model"))
    if inherit and last.get("intent") in TASK_INTENTS:
        if intent == Intent.UNKNOWN:
            intent = str(last["intent"])
        base = {k: v for k, v in last.items() if k not in (*QUANT_SLOTS, "intent", *EXTRAS)} if has_quant \
            else {k: v for k, v in last.items() if k not in ("intent", *EXTRAS)}
        if has_quant and slots.get("bits") and not any(slots.get(k) for k in ("method", "quant_type", "quant_types")):
            kept = same_method(last, slots["bits"])   # "same thing but 8 bit" after GPTQ 4-bit: GPTQ 8-bit
            if kept:
                base["method"] = kept
        if last.get("and_benchmark"):
            base["and_benchmark"] = True
        slots = {**base, **slots}
        if slots.get("revise") and focus.get("batch_jobs"):
            slots["replace_jobs"] = list(focus["batch_jobs"])
    elif intent == Intent.UNKNOWN and slots.get("ref") and last.get("intent"):
        intent = Intent.UNKNOWN.value  # "do it again"? too vague: fall through to unknown

    if intent == Intent.QUANTIZE and slots.get("ref") and not has_quant and last_tool == "explain":
        slots.update(explained_quant(focus))   # "what is Q4_K_M?" ... "ok quantize gemma to that"
    if intent in TASK_INTENTS and slots.get("pick") and not slots.get("model"):
        slots = {**slots, **picked_recommendation(state, int(slots["pick"]))}
    if intent in TASK_INTENTS and not slots.get("model"):
        if focus.get("model") and (intent != Intent.BENCHMARK or not slots.get("ref")):
            slots["model"] = focus["model"]
            slots["model_from_focus"] = True
    if intent == Intent.COMPARE and not slots.get("model") and focus.get("model"):
        slots["model"] = focus["model"]
        slots["model_from_focus"] = True
    if slots.get("model"):
        slots["model"] = canonical_model(str(slots["model"]))
    return {"intent": str(intent), **slots}


def explained_quant(focus: Mapping) -> dict:
    """The one quant type (else the one method) the last explanation was about, or {}."""
    from lqmf.copilot.parser.quants import find_methods, find_quant_types
    from lqmf.copilot.parser.text import normalize

    last = focus.get("last_question") or {}
    topic = normalize(str(last.get("topic") or "")) if last.get("intent") == Intent.EXPLAIN else ""
    types = {str(h.value) for h in find_quant_types(topic)}
    if len(types) == 1:
        return {"quant_type": types.pop()}
    methods = {str(h.value) for h in find_methods(topic)}
    return {"method": methods.pop()} if not types and len(methods) == 1 else {}


def other_model(model: str) -> str | None:
    """The one model on this machine other than ``model`` (None when there are more, or none)."""
    from lqmf.copilot.app.models import bundled

    rest = [b for b in bundled() if b != canonical_model(model)] if model else []
    return rest[0] if len(rest) == 1 else None


def same_method(last: Mapping, bits: object) -> str | None:
    """The last task's method, when it has a type of ``bits`` bits (else None: the usual reading)."""
    from lqmf.copilot.app.quants import method_of, type_for_bits

    method = last.get("method") or (method_of(str(last["quant_type"])) if last.get("quant_type") else None)
    return str(method) if method and type_for_bits(bits, str(method)) else None


def other_items(focus: Mapping) -> list[dict]:
    """The items of the last batch other than the one the last task was about ("the other one")."""
    last = focus.get("last_request") or {}
    current = str(last.get("quant_type") or focus.get("quant_type") or "").upper()
    batch = [dict(b) for b in focus.get("batch") or []]
    return [b for b in batch if str(b.get("quant_type") or "").upper() != current] if current else []


def canonical_model(model: str) -> str:
    """A catalog alias as the catalog's name ("gemma3" -> "gemma3-270m"), so that plans, jobs and
    follow-ups name one model one way; hub ids, paths and unknown names stay as written."""
    from lqmf.copilot.app.models import bundled, catalog_entry, is_reference

    from lqmf.copilot.parser.models import lexicon

    if is_reference(model):
        return model
    if model.lower() in lexicon().sizes:   # "the 135m": the bundled model of that size
        return lexicon().sizes[model.lower()]
    here = [b for b in bundled() if len(model) >= 4 and b.startswith(model.lower())]
    if len(here) == 1:   # "gemma" on a machine that has gemma3-270m: that one, not the catalog's first gemma
        return here[0]
    entry = catalog_entry(model)
    if entry:
        return str(entry["name"])
    from lqmf.copilot.app.models import by_size, catalog

    family = [str(e["name"]) for e in catalog() if len(model) >= 4 and str(e["name"]).startswith(model.lower() + "-")]
    return by_size(family)[0] if family else model   # "qwen2.5": the family's smallest, which the catalog knows


def picked_recommendation(state: ChatState, n: int) -> dict:
    """Slots from row ``n`` of the recommendation shown: its model, type and method when the
    model is on this machine, else what to say (``fetch_first``)."""
    rows = state.get("listing") or []
    if not rows or not -len(rows) <= (n - 1 if n > 0 else n) < len(rows):
        return {"fetch_first": f"The last list has {len(rows)} rows; pick 1 to {len(rows)}."} if rows else {}
    row = rows[n - 1] if n > 0 else rows[n]
    if row.get("fetch"):
        here = next((i for i, r in enumerate(rows, 1) if r.get("where")), None)
        alt = f" {rows[here - 1]['model']} (number {here}) is here already." if here else ""
        note = f" ({row['fetch_note']})" if row.get("fetch_note") else ""
        return {"fetch_first": f"{row['model']} is not on this machine: fetch it first with `{row['fetch']}`{note}, "
                               f"then ask again.{alt}"}
    return {k: v for k, v in (("model", row.get("model")), ("quant_type", row.get("quant_type")),
                              ("method", row.get("method"))) if v}
