"""plan: a request -> the steps (tool calls) that do it, or the one question
that must be answered first. Pure: it reads the state and returns an update,
so re-running it (after an answer, or a resumed interrupt) is harmless."""
from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from lqmf.copilot import render
from lqmf.copilot.app import quantize as app_quantize
from lqmf.copilot.app import models as app_models
from lqmf.copilot.app.quants import type_choices
from lqmf.copilot.app import App
from lqmf.copilot.nodes import job_refs, stand_in, words
from lqmf.copilot.nodes.context import app_of
from lqmf.copilot.nodes.plan_jobs import plan_cancel, plan_jobs
from lqmf.copilot.nodes.plan_steps import (DEFAULT_MODEL, ask, check_model, check_type, model_or_question, quant_types,
                                           size_note, step)
from lqmf.copilot.nodes.recipe_words import describe as recipe_text
from lqmf.copilot.nodes.resolve import public_slots, resolve
from lqmf.copilot.state import ChatState, GoalLimits, Intent, Step, ToolName
from lqmf.copilot.tutoring import plan_tutorial

CHITCHAT = {
    "greeting": "Hello! I can quantize a model ('quantize smollm2 to Q4_K_M'), benchmark it, compare results, "
                "or recommend a model for your hardware. What would you like to do?",
    "thanks": "You're welcome! Anything else? Another quant type, a benchmark, or a comparison of what you made.",
    "bye": "Bye! Say 'jobs' when you are back to see how your jobs went.",
    "away": "Sure, take your time: jobs keep running while you are away. Say 'jobs' when you are back.",
    "back": "Welcome back! Say 'jobs' to see how your jobs went, or tell me what to do next.",
    "sorry": "No problem at all. When you are ready: quantize, benchmark, compare, or ask me about a term.",
    "smalltalk": "All good here, thanks. I can quantize, benchmark and compare models, or recommend one for your "
                 "hardware. What shall we do?",
}


def only_type(method: str | None, req: dict) -> list[str]:
    """The one type of a method that declares one ("quantize smollm2 with awq": AWQ_4BIT, and
    "use awq instead" of a 3-bit GPTQ plan, which the plan then says), unless the user named a
    type that is not one."""
    if not method or req.get("bad_types"):
        return []
    from lqmf.copilot.app.quants import types_of

    try:
        types = types_of(method)
    except ValueError:   # a method name no backend declares: the type question says what there is
        return []
    return types if len(types) == 1 else []


def plan_quantize(req: dict, state: ChatState) -> dict:
    if req.get("fetch_first"):
        return {"out": [render.text(req["fetch_first"])], "request": None}
    model, missing = model_or_question(req, f"Which model? {DEFAULT_MODEL} is bundled and takes seconds.")
    if missing:
        return missing
    recipe = dict(req.get("recipe") or {})
    method = req.get("method") or app_quantize.implied_method(recipe)
    types = quant_types({**req, "method": method})
    only = "" if types else _only_note(method, req)
    types = types or only_type(method, req)
    later: list[str] = []
    if req.get("start_with") in types and len(types) > 1:   # "... let's start with q4_k_s": one now, the rest later
        later, types = [t for t in types if t != req["start_with"]], [req["start_with"]]
    if not types:
        bad = req.get("bad_types") or []
        lead = (f"{' and '.join(bad)} {'is not a quant type' if len(bad) == 1 else 'are not quant types'} "
                f"I know. ") if bad else ""
        choices = type_choices(method)
        size = size_note(model, choices[0]).strip(" ()")
        why = f"; for {model} that is {size}" if size else ""
        return {"question": ask("quant_type", f"{lead}Which quant type? {choices[0]} is a good start: the usual "
                                f"balance, much smaller than the original with little quality loss{why}.",
                                choices, choices[0])}
    for qt in types:
        problem = check_type(qt, method) or (app_quantize.problem_with_recipe(recipe, qt, method) if recipe else None)
        if problem:
            return {"out": [render.error(problem)], "request": None}
    steps: list[Step] = []
    how = f" ({recipe_text(recipe)})" if recipe else ""
    for jid in req.get("replace_jobs") or []:
        steps.append(step(state, len(steps), ToolName.CANCEL, {"job_id": jid}, f"cancel job {jid} (replaced)"))
    bench = req.get("and_benchmark")
    for qt in types:
        args = {"model": model, "quant_type": qt, "method": method, "priority": req.get("priority"),
                "recipe": recipe}
        q = step(state, len(steps), ToolName.QUANTIZE, {k: v for k, v in args.items() if v},
                 f"quantize {model} to {qt}{how}{size_note(model, qt)}{only}")
        steps.append(q)
        if bench:
            steps.append(step(state, len(steps), ToolName.BENCHMARK, {"model": model, "quant_type": qt},
                              f"benchmark {model} {qt}", after=[q["id"]]))
    if later:   # the plan says so; the request keeps one type, so planning it again gives the same plan
        steps[-1]["label"] += f"; {' and '.join(later)} after it, when you say 'the other one'"
        return {"plan": steps, "request": {**req, "quant_type": types[0], "quant_types": None, "bits": None,
                                           "start_with": None, "deferred": later}}
    return {"plan": steps}


def _only_note(method: str | None, req: dict) -> str:
    """What the plan says when the one type of a method is not the bits asked for."""
    from lqmf.copilot.app.quants import type_for_bits

    bits = req.get("bits")
    if not bits or not method or not only_type(method, req) or type_for_bits(bits, method) is not None:
        return ""
    return f"; {method.upper()} has no {bits}-bit type, this is its one type"


GOAL_LIMITS = ("max_kld", "max_ppl_delta_pct", "max_size_gb")


def plan_tune(req: dict, state: ChatState) -> dict:
    """One tune job (copilot/app/tune.py): the gate from the parser's slots (a ``gate``
    slot when it gives one, else its limits; kld<=0.05 when it gives none)."""
    from lqmf.copilot.app.gates import from_slots

    model, missing = model_or_question(req, f"Tune which model? {DEFAULT_MODEL} is bundled and takes minutes.")
    if missing:
        return missing
    gate = from_slots(req) or "kld<=0.05"
    goal = req.get("goal") or ("fastest" if req.get("sort") == "speed" else None)
    use = req.get("use") or req.get("task")
    methods = req.get("methods") or ([req["method"]] if req.get("method") else None)   # "... with bitsandbytes"
    args = {"model": model, "gate": gate, "goal": goal, "use": use if use in ("chat", "code", "math", "creative") else None,
            "methods": list(methods) if methods else None}
    across = f" across {', '.join(methods)}" if methods and len(methods) > 1 else ""
    return {"plan": [step(state, 0, ToolName.TUNE, {k: v for k, v in args.items() if v},
                          f"tune {model}{across}: the smallest quant that passes {gate} (quantize + benchmark trials)")]}


def goal_label(goal: GoalLimits) -> str:
    return "keep the smallest that meets " + ", ".join(f"{k} {v}" for k, v in goal.items())


def plan_benchmark(req: dict, state: ChatState) -> dict:
    if req.get("fetch_first"):
        return {"out": [render.text(req["fetch_first"])], "request": None}
    focus = state.get("focus") or {}
    targets: list[dict] = []
    if req.get("others"):   # "and the other one?": the rest of the last batch
        targets = [dict(b) for b in req["others"]]
    elif req.get("ref") == "them" and focus.get("batch") and not req.get("model"):
        targets = [dict(b) for b in focus["batch"]]
    elif req.get("ref") and not req.get("model") and (focus.get("artifact") or focus.get("model")):
        targets = [{k: focus.get(k) for k in ("model", "quant_type", "artifact", "job_id")}]
    elif req.get("model"):
        types = quant_types(req)
        for qt in types or [None]:  # type: ignore[list-item]  # None: the model itself, no type
            targets.append({"model": req["model"], "quant_type": qt})
    if not targets:
        here = app_models.bundled() or [DEFAULT_MODEL]
        return {"question": ask("model", f"Benchmark which model? {here[0]} is bundled and takes about a minute.",
                                here, here[0])}
    steps: list[Step] = []
    for t in targets:
        if not t.get("artifact"):
            problem = check_model(t["model"])
            if problem:
                return {"out": [render.error(problem)], "request": None}
        what = " ".join(x for x in (t["model"], t.get("quant_type")) if x)
        args = {k: v for k, v in t.items() if v and k in ("model", "quant_type", "artifact", "job_id")}
        steps.append(step(state, len(steps), ToolName.BENCHMARK, args, f"benchmark {what}"))
    return {"plan": steps}


_ORIGINAL = re.compile(r"\b(?:original|full[- ]precision|full(?:-size)? (?:model|one|version)|unquantized|"
                       r"un-quantized|uncompressed|f16|fp16|base model|dense model|source model)\b")


def single_target(req: dict, state: ChatState, types: list[str]) -> dict | None:
    """The one artifact a compare is about when it is measured against its original
    ("how good is it compared to the original?", "how does smollm2 q4_0 compare with the
    full model"), or None for a comparison of several."""
    focus = state.get("focus") or {}
    model = req.get("model") or focus.get("model")
    if len(types) == 1 and model:
        same = focus.get("model") == model and str(focus.get("quant_type") or "").upper() == types[0]
        return {"model": model, "quant_type": types[0],
                **({k: focus[k] for k in ("job_id", "artifact") if focus.get(k)} if same else {})}
    if types or not focus.get("quant_type") or (req.get("model") and req["model"] != focus.get("model")):
        return None
    made = {str(t.get("quant_type")) for t in state.get("tracked") or []
            if t.get("quant_type") and t.get("model") == focus.get("model")}
    if req.get("ref") == "it" or _ORIGINAL.search((state.get("text") or "").lower()) or len(made) <= 1:
        return {k: focus[k] for k in ("model", "quant_type", "job_id", "artifact") if focus.get(k)}
    return None


def offer_measure(state: ChatState, target: dict) -> dict:
    """An artifact with no measurement yet: say so, and offer the benchmark that measures it."""
    what = f"{target['model']} {target['quant_type']}"
    args = {k: v for k, v in target.items() if v and k in ("model", "quant_type", "artifact", "job_id")}
    st = step(state, 0, ToolName.BENCHMARK, args,
              f"benchmark {what}: speed, size, and quality against the original (perplexity, KL divergence)")
    note = (f"There is no measurement of {what} yet, so I cannot say how it compares with the original. "
            f"I can measure it now (a background job; the answer comes in words when it is done).")
    return {"plan": [st], "out": [render.text(note)],
            "question": ask("confirm", f"Benchmark {what} against the original? [Y/n]", ["yes", "no"], "yes")}


def plan_compare(req: dict, state: ChatState, app: App | None = None) -> dict:
    types = quant_types(req)
    focus = state.get("focus") or {}
    target = single_target(req, state, types) if app is not None else None
    if target and app is not None:
        from lqmf.copilot.app.compare import measurement

        if measurement(app, target["model"], target["quant_type"]) is None:
            return offer_measure(state, target)
        types = [target["quant_type"]]
    if not types:
        seen = [str(t.get("quant_type")) for t in state.get("tracked") or []
                if t.get("quant_type") and (not req.get("model") or t.get("model") == req.get("model"))]
        types = list(dict.fromkeys(seen))
    args = {"model": req.get("model") or focus.get("model"), "quant_types": types or None,
            "methods": req.get("methods")}
    said = (state.get("text") or "").lower()
    calls = state.get("calls") or []
    again = bool(calls) and calls[-1].get("tool") == ToolName.COMPARE.value   # "and gemma?" after a compare
    methods = list(req.get("methods") or [])
    if app is not None and (len(types) >= 2 or len(methods) >= 2 and not types) and _ASKS_WHICH.search(said) \
            and not _COMPARE_COMMAND.search(said) and not again \
            and not (req.get("model") and not req.get("model_from_focus")):   # "... on smollm2?": its results
        from lqmf.copilot.app.compare import compare_latest

        if compare_latest(app, req.get("model") or focus.get("model"), types, req.get("methods")).comparison is None:
            # "q4_k_m vs q5_k_m, is the difference noticeable?" with nothing measured: the notes answer it
            return {"plan": [step(state, 0, ToolName.EXPLAIN, {"question": state.get("text") or "",
                                                                "unmeasured": types or methods}, "explain")]}
    return {"plan": [step(state, 0, ToolName.COMPARE, {k: v for k, v in args.items() if v}, "compare")]}


# "can you compare smollm2's Q4_K_M and Q8_0?": a command, even with a question mark (the compare tool says
# what is not measured yet)
_COMPARE_COMMAND = re.compile(r"^\s*(?:(?:hey|ok|okay|so|now|then|please|pls|can you|could you|would you|will you|"
                              r"i want to|i'd like to|let's|lets)[,\s]+)*(?:compare|put\b.*\bside by side)\b")
# a comparison asked as a question ("which one keeps more quality?", "is it worth it?"), not a command
_ASKS_WHICH = re.compile(r"\?\s*$|\b(?:which|is (?:it|the|there|that)|are (?:they|there)|does|do i|should|worth|better|"
                         r"difference|noticeable|keeps? more|how much)\b")


def plan_pick(req: dict, state: ChatState) -> dict:
    listing = state.get("listing") or []
    n = req.get("pick", 1)
    if not listing:
        return {"out": [render.text("There is no list to pick from yet; ask for experiments or jobs first.")],
                "request": None}
    if not (-len(listing) <= (n - 1 if n > 0 else n) < len(listing)):
        return {"out": [render.text(f"The last list has {len(listing)} rows; pick 1 to {len(listing)}.")],
                "request": None}
    row = listing[n - 1] if n > 0 else listing[n]
    if job_refs.is_job_row(row):
        a = row.get("args", {})
        focus = {"model": a.get("model"), "quant_type": a.get("quant_type"), "job_id": row["id"],
                 "artifact": (row.get("result") or {}).get("artifact") if isinstance(row.get("result"), dict) else None}
        text = f"Job {row['id']}: {row['kind']} {a.get('model', '')} {a.get('quant_type', '')} is {row['status']}."
    else:
        focus = {"model": row.get("model_name") or row.get("model"), "quant_type": row.get("quant_type"),
                 "artifact": row.get("artifact"), "job_id": None}
        text = "Selected " + " ".join(str(x) for x in (focus["model"], focus["quant_type"], row.get("artifact")) if x) \
            + ". Say 'benchmark it' or 'explain' to go on."
    return {"out": [render.text(" ".join(text.split()))], "focus": {k: v for k, v in focus.items()}, "request": None}


def plan_inline(tool: ToolName, args_from):
    def planner(req: dict, state: ChatState) -> dict:
        args = {k: v for k, v in args_from(req).items() if v is not None}
        return {"plan": [step(state, 0, tool, args, tool.value)]}
    return planner


def plan_explain(req: dict, state: ChatState) -> dict:
    """The parser's topic slot and the whole question: retrieval reads the question."""
    args = {"topic": req.get("topic") or (req.get("quant_type") or "").lower() or req.get("method") or None,
            "question": req.get("question") or state.get("text") or None}
    return {"plan": [step(state, 0, ToolName.EXPLAIN, {k: v for k, v in args.items() if v}, "explain")]}


def plan_recommend(req: dict, state: ChatState) -> dict:
    """The parser's slots and the utterance, which names the machine more exactly than the
    ``device`` slot can ("raspberry pi 5", "rtx 3060" -> edge, gpu)."""
    args = {k: v for k, v in public_slots(req).items() if v is not None and k != "intent"}
    if state.get("text") and not req.get("feedback"):
        args["hint"] = state["text"]
    return {"plan": [step(state, 0, ToolName.RECOMMEND, args, ToolName.RECOMMEND.value)]}


def plan_reply(text: str):
    def planner(req: dict, state: ChatState) -> dict:
        return {"out": [render.text(text)], "request": None}
    return planner


_HOW_GOING = re.compile(r"^(?:(?:hey|hi|so|and|ok|well)[, ]+)?how(?:'s| is|s) (?:it|everything|things) "
                        r"(?:going|coming along|doing)\b")


def plan_unknown(req: dict, state: ChatState) -> dict:
    if req.get("chitchat") in CHITCHAT:
        reply = CHITCHAT[req["chitchat"]]
        active = job_refs.active(state)
        if active and _HOW_GOING.match(words.norm(state.get("text") or "")):
            return plan_jobs(req, state)   # "how's it going?" right after a submit: how the jobs are going
        if req["chitchat"] in ("smalltalk", "back") and active:   # "how's it going?" while our jobs run
            reply += f" {len(active)} of your jobs {'is' if len(active) == 1 else 'are'} still queued or running; " \
                     "say 'jobs' to see them."
        return {"out": [render.text(reply)], "request": None}
    if req.get("affirm") or req.get("deny"):
        return {"out": [render.text("There is no question waiting for an answer. What would you like to do?")],
                "request": None}
    return {"request": None}  # respond answers (with the LLM when there is one)


PLANNERS = {
    Intent.QUANTIZE: plan_quantize,
    Intent.TUNE: plan_tune,
    Intent.BENCHMARK: plan_benchmark,
    Intent.CANCEL: plan_cancel,
    Intent.COMPARE: plan_compare,
    Intent.PICK: plan_pick,
    Intent.QUERY: plan_inline(ToolName.QUERY, public_slots),
    Intent.RECOMMEND: plan_recommend,
    Intent.JOBS: plan_jobs,
    Intent.EXPLAIN: plan_explain,
    Intent.HELP: plan_inline(ToolName.HELP, lambda r: {}),
    Intent.MODELS: plan_inline(ToolName.MODELS, lambda r: {}),
    Intent.TUTORIAL: plan_tutorial,
    Intent.UNKNOWN: plan_unknown,
    Intent.TICK: lambda req, state: {"request": None},
}
assert set(PLANNERS) == set(Intent), "every Intent needs a planner"


def describe(req: dict) -> str:
    """A request in a few words: "benchmark smollm2 Q4_K_M", "query task chat, sort speed"."""
    head = [req["intent"], *(str(req[k]) for k in ("model",) if req.get(k)), *quant_types(req)]
    rest = [f"{k} {v}" for k, v in public_slots(req).items()
            if k not in ("intent", "model", "quant_type", "quant_types", "bits", "view") and v not in (None, "", [])]
    return " ".join(head) + (" (" + ", ".join(rest) + ")" if rest else "")


NEEDS_APP = {Intent.COMPARE}   # planners that read the store
CONFIRM_FIRST = {Intent.QUANTIZE, Intent.BENCHMARK, Intent.TUNE, Intent.COMPARE}
# an unsure reading of these is answered, not confirmed: an answer costs nothing, and retrieval says
# "I don't have a note" by itself when the question is about something else
ANSWER_UNSURE = {Intent.EXPLAIN}


def plan(state: ChatState, runtime: Runtime[App] | None = None) -> dict:
    req: dict[str, Any] = dict(state.get("request") or {}) or resolve(state)
    intent = Intent(req["intent"])
    found = stand_in.swap(req)   # a known model that is not here: plan for the closest local one
    if found:
        read_as = describe(req) if req.get("unsure") and not state.get("confirmed") else None
        req = stand_in.swapped({k: v for k, v in req.items() if k != "unsure"}, found)
    planned = PLANNERS[intent](req, state, app_of(runtime)) if intent in NEEDS_APP else PLANNERS[intent](req, state)
    update = {"request": req, "plan": [], "plan_goal": None, "question": None, **planned}
    steps = update.get("plan") or []
    bad = req.get("bad_types") or []
    question = update.get("question") or {}
    if bad and not any(b in (question.get("prompt") or "") for b in bad):
        note = f"{' and '.join(bad)} {'is not a quant type' if len(bad) == 1 else 'are not quant types'}; I left it out."
        update["out"] = [render.text(note), *(update.get("out") or [])]
    if not steps and req.get("unsure") and update.get("out") and not state.get("confirmed") \
            and not update.get("question") and intent in CONFIRM_FIRST:
        # an unsure reading whose plan hit a problem ("tinyllama is not in the cache"): the reading is
        # confirmed first, the problem told after, so a misreading never answers with a wrong problem
        update["out"], update["request"] = [], req
        update["question"] = {**ask("confirm", f"Did you mean: {describe(req)}? [Y/n]", ["yes", "no"], "yes"),
                              "replan": True}
        return update
    if steps and req.get("unsure") and not state.get("confirmed") and not update.get("question") \
            and intent not in ANSWER_UNSURE:
        # not sure of the reading: confirm it instead of acting on a guess (or saying "I didn't understand")
        read = describe(update.get("request") or req)
        update["question"] = ask("confirm", f"Did you mean: {read}? [Y/n]", ["yes", "no"], "yes")
        return update
    if steps and any(s.get("expensive") for s in steps) and not state.get("confirmed") and not update.get("question"):
        labels = [s["label"] for s in steps] + ([goal_label(update["plan_goal"])] if update.get("plan_goal") else [])
        lines = [f"  {i}. {label}" for i, label in enumerate(labels, 1)]
        update["question"] = ask("confirm", "Go ahead? [Y/n]", ["yes", "no"], "yes")
        update["out"] = [render.text("Plan:\n" + "\n".join(lines) +
                                     "\nThese run as background jobs; we can keep talking meanwhile.")]
    return stand_in.offer(update, found, read_as) if found else update
