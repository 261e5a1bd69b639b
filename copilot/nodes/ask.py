"""ask: put the one pending question to the user with ``interrupt()`` and
read the answer (resumed by ``Command(resume=answer)``). Everything before
``interrupt()`` only reads the state, so the re-run on resume is harmless."""
from __future__ import annotations

import re

from langgraph.types import interrupt

from lqmf.copilot import render
from lqmf.copilot.app.quants import type_for_bits
from lqmf.copilot.nodes import words
from lqmf.copilot.nodes.understand import interpret
from lqmf.copilot.state import RESET, AskResult, ChatState, Intent

CHANGE_SLOTS = ("model", "quant_type", "quant_types", "bits", "method", "priority", "device",
                "max_kld", "max_size_gb", "max_ppl_delta_pct", "recipe")
# a word that names a task of its own ("benchmark it instead"), not a change of this one
_TASK_VERB = re.compile(r"\b(?:quanti[sz]e|quanti[sz]ing|bench(?:mark)?|measure|test|tune|compare|convert|"
                        r"explain|recommend|cancel|query|search|find|show|list)\b")
# a quick question while another waits: answered, then the waiting question is asked again
ASIDE = {Intent.EXPLAIN, Intent.MODELS, Intent.HELP, Intent.JOBS, Intent.QUERY}   # answered; the question waits
NEW_REQUEST = {Intent.QUERY, Intent.MODELS, Intent.JOBS, Intent.EXPLAIN, Intent.HELP, Intent.RECOMMEND, Intent.COMPARE,
               Intent.TUTORIAL, Intent.TUNE, Intent.BENCHMARK}


# a question about the plan that waits for a yes ("how big will it be?", "how long will that take?")
ABOUT_PLAN = re.compile(r"^(?:(?:and|so|ok|but|wait|hmm|sorry)[, ]+)?(?:how (?:big|large|long|small|much (?:disk|space|room|time|smaller|bigger|larger))|"
                        r"what size|will (?:it|that|this) fit|how many (?:mb|gb|minutes|seconds)|"
                        r"(?:which|what) (?:model|type|quant(?: type)?) (?:was|is) (?:this|that|it)(?: for)?|"
                        r"what (?:was|is) (?:this|that|the plan)(?: for)?(?: again)?$|remind me what)\b"
                        r"(?:.*\b(?:it|that|this|be|take|need|use)\b|(?:\s+\S+){0,3}$)")


def payload(state: ChatState) -> dict:
    """What the user sees: the question (the plan was already shown by ``plan``)."""
    return dict(state.get("question") or {})


_FILLER = frozenset("the a an one ones that this job model please pls i mean meant want ok okay use with go take "
                    "pick then just let's lets try how about".split())


def named_choice(answer: str, choices: list[str], labels: list[str]) -> str | None:
    """The one choice the answer's words name, by a word its name or label starts with
    ("the gemma one" -> gemma3-270m; "the smollm2 one" -> the job whose label says smollm2)."""
    said = [w for w in re.findall(r"[\w.-]+", answer.lower()) if w not in _FILLER and len(w) >= 3]
    if not said or len(said) > 3:
        return None
    texts = [f"{c} {labels[i] if i < len(labels) else ''}".lower() for i, c in enumerate(choices)]
    def parts(t: str) -> list[str]:   # "gemma3-270m" answers to "gemma", "gemma3" and "270m"
        return re.findall(r"[\w.-]+", t) + re.findall(r"[a-z0-9_.]+", t)

    hits = [c for c, t in zip(choices, texts) if all(any(x.startswith(w) for x in parts(t)) for w in said)]
    return hits[0] if len(hits) == 1 else None


_BY_SIZE = re.compile(r"^(?:the |that |a )?(?:(small|smaller|smallest|tiny|tinier|tiniest|little|lighter|lightest)|"
                      r"big|bigger|biggest|large|larger|largest|heavier)(?: one| model)?(?: please)?$")


def fill(slot: str, answer: str, question: dict, req: dict) -> dict | None:
    """Slot updates from an answer to a slot question, or None if it does not answer it."""
    choices = question.get("choices") or []
    if not answer.strip() or words.is_yes(answer) or words.defers(answer):
        return {slot: question["default"]} if question.get("default") else None
    n = words.ordinal(answer)
    if n is not None and choices and -len(choices) <= (n - 1 if n > 0 else n) < len(choices):
        return {slot: choices[n - 1] if n > 0 else choices[n]}
    for c in choices:
        if words.norm(answer) == c.lower():
            return {slot: c}
    named = named_choice(answer, choices, question.get("labels") or [])
    if named:   # "the gemma one", "the smollm2 one", "the q8 job"
        return {slot: named}
    _, slots = interpret(answer)
    if slot == "quant_type":
        if slots.get("quant_type") or slots.get("quant_types"):
            return {k: slots[k] for k in ("quant_type", "quant_types", "method") if slots.get(k)}
        qt = type_for_bits(slots.get("bits"), req.get("method"))
        return {"quant_type": qt} if qt else None
    if slot == "model":
        if slots.get("model"):
            return {"model": slots["model"]}
        from lqmf.copilot.app.models import catalog_entry, is_reference
        from lqmf.copilot.nodes.resolve import canonical_model
        from lqmf.copilot.parser.models import find_models

        size = _BY_SIZE.search(words.norm(answer))
        if size and len(choices) > 1 and not find_models(answer):   # "the small one", "the bigger one"
            from lqmf.copilot.app.models import by_size

            ordered = by_size(list(choices))
            return {"model": ordered[0] if size.group(1) else ordered[-1]}
        found = {str(h.value) for h in find_models(answer)}
        if len(found) == 1:   # "the 135m one": a model the parser knows, in a fragment it cannot place
            return {"model": canonical_model(found.pop())}

        raw = answer.strip()
        if catalog_entry(raw) or is_reference(raw):
            return {"model": raw.lower() if catalog_entry(raw) else raw}
        return None
    if slots.get(slot):
        return {slot: str(slots[slot])}
    return None


def ask(state: ChatState) -> dict:
    question = payload(state)
    answer = interrupt(question)
    answer = answer if isinstance(answer, str) else str(answer or "")
    req = dict(state.get("request") or {})
    slot = question.get("slot", "confirm")
    intent, slots = interpret(answer) if answer.strip() else ("unknown", {})
    said = [{"role": "copilot", "text": question.get("prompt", "")}, {"role": "user", "text": answer}]

    changes = {k: v for k, v in slots.items() if k in CHANGE_SLOTS}
    # a yes (or no) in more words: "yes, let's see how it goes", "ok fine use that", "no thanks, not worth it"
    plain = not changes and not slots.get("revise")
    yes = not answer.strip() or words.is_yes(answer) or (plain and words.opens_with_yes(answer))
    if words.is_no(answer) or (not changes and words.opens_with_no(answer)) or \
            (intent == Intent.CANCEL and not slots.get("job_id")):
        return {"ask_result": AskResult.DROPPED.value, "request": None, "plan": [], "question": None,
                "out": [RESET, render.text("OK, dropped that; nothing was started.")],
                "history": said, **_talked_about(state, req)}
    base = {"history": said, "out": [RESET]}
    if slot == "confirm" and yes and question.get("replan"):
        # a confirmed reading: plan it for real now (its problem, if any, is told)
        return {**base, "ask_result": AskResult.ANSWERED.value, "request": {"unsure": None}, "question": None,
                "confirmed": False}
    if slot == "confirm" and (yes or (intent == "unknown" and words.ends_in_yes(answer))):
        return {**base, "ask_result": AskResult.CONFIRMED.value, "confirmed": True, "question": None}
    if slot != "confirm":
        filled = fill(slot, answer, question, req)
        if filled:
            return {**base, "ask_result": AskResult.ANSWERED.value, "request": filled, "question": None}
    # a change to the pending request: "actually use 5 bits", "make it Q8_0", "use qwen instead"
    if slot == "confirm" and intent == req.get("intent") and not changes and not slots.get("revise"):
        # "yeah test it" while the benchmark plan waits: the same request again is a yes
        return {**base, "ask_result": AskResult.CONFIRMED.value, "confirmed": True, "question": None}
    same_task = intent in ("unknown", req.get("intent")) and not (slots.get("model") and intent != "unknown"
                                                                  and slots.get("model") != req.get("model"))
    if changes and not same_task and intent not in ASIDE and not _TASK_VERB.search(answer.lower()):
        same_task = True   # "hmm no, use gemma3-270m at q4_k_m": names no task, so it changes this one
    if changes and same_task:
        if "bits" in changes and not ({"quant_type", "quant_types"} & set(changes)):
            changes.update({"quant_type": None, "quant_types": None})
        if {"quant_type", "quant_types"} & set(changes) and "bits" not in changes:
            changes["bits"] = None
        if "method" in changes and not ({"quant_type", "quant_types"} & set(changes)):
            changes.update({"quant_type": None, "quant_types": None})   # "use awq instead": its type, not GPTQ's
        if "recipe" in changes:   # "and use act order too": added to the options already given
            changes["recipe"] = {**dict(req.get("recipe") or {}), **dict(slots["recipe"])}  # type: ignore[call-overload]
        return {**base, "ask_result": AskResult.ANSWERED.value, "request": changes, "question": None,
                "confirmed": False}
    if slot == "confirm" and state.get("plan") and ABOUT_PLAN.search(words.norm(answer)) and not slots.get("model"):
        # "how big will it be?" while the plan waits: answer from the plan and ask again
        labels = "; ".join(s["label"] for s in state.get("plan") or [])
        return {**base, "ask_result": AskResult.ANSWERED.value,
                "out": [RESET, render.text(f"The plan: {labels}. Sizes are estimates from the type's bits per "
                                           "weight; it runs as a background job, so we can keep talking, and "
                                           "'jobs' shows its progress. Nothing has started yet.")]}
    if intent in ASIDE and not slots.get("unsure"):
        parked = {"question": question, "request": req, "plan": list(state.get("plan") or [])}
        return {**base, "out": [RESET], "ask_result": AskResult.REDIRECT.value, "text": answer,
                "request": None, "question": None, "history": said[:1], "parked": parked}
    if intent != "unknown" and (intent in NEW_REQUEST or intent != req.get("intent")):
        note = render.text(f"Leaving the {req.get('intent', 'last')} request aside.")
        # "actually just benchmark the q4_k_m one instead": the model talked about is still the one meant
        focus = _talked_about(state, req) if not slots.get("model") else {}
        return {**base, "out": [RESET, note], "ask_result": AskResult.REDIRECT.value, "text": answer,
                "request": None, "question": None, "history": said[:1], **focus}
    if intent == "unknown" and slots.get("chitchat"):   # "cool, thanks" while a question waits: answer in kind, ask again
        lead = {"thanks": "You're welcome!", "greeting": "Hello!", "bye": "Before you go:",
                "away": "Sure, take your time.", "back": "Welcome back!",
                "sorry": "No problem."}.get(slots["chitchat"], "Sure.")
        return {**base, "ask_result": AskResult.ANSWERED.value,
                "out": [RESET, render.text(f"{lead} One question is still open, so nothing has started yet.")]}
    hint = "yes or no" if slot == "confirm" else (
        "one of " + ", ".join(question.get("choices") or []) if question.get("choices") else f"a {slot}")
    return {**base, "ask_result": AskResult.ANSWERED.value,
            "out": [RESET, render.text(f"I didn't get that; please answer {hint} (or 'cancel').")]}


def _talked_about(state: ChatState, req: dict) -> dict:
    """The model of a request set aside or declined, as what "it" means next ("no" ... "quantize it
    to q4_k_m instead"); what the focus said about another model is let go."""
    model = req.get("model")
    if not model:
        return {}
    focus = state.get("focus") or {}
    if focus.get("model") == model:
        return {}
    return {"focus": {"model": str(model), "quant_type": None, "artifact": None, "job_id": None}}


def unpark(state: ChatState) -> dict:
    """Put the question set aside for a quick answer (and its request and plan) back, for ``ask``."""
    parked = dict(state.get("parked") or {})
    return {"question": parked.get("question"), "request": parked.get("request") or {},
            "plan": list(parked.get("plan") or []), "parked": None, "confirmed": False}
