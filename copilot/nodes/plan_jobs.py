"""Planners of the job queue: list the jobs, cancel one (named by id, by its number in
this chat, by "the second one" or "the Q8_0 one", or asked for when several could be meant)."""
from __future__ import annotations

import re

from lqmf.copilot import render
from lqmf.copilot.nodes import job_refs
from lqmf.copilot.nodes.plan_steps import ask, quant_types, step
from lqmf.copilot.state import ChatState, ToolName


# the words of a cancel that name no job ("actually cancel the benchmark one": "benchmark" does)
_CANCEL_WORDS = frozenset("cancel stop kill abort halt drop scrap remove delete terminate actually please pls "
                          "now wait no oh hmm".split())


def which_job(active: list, req: dict, text: str) -> str | None:
    """The one of several active jobs a cancel names without its id: "the second one", "the Q8_0 one",
    "the benchmark one", "the gemma one"."""
    from lqmf.copilot.nodes import words
    from lqmf.copilot.nodes.ask import named_choice

    n = words.ordinal_in(text)
    if n is not None and len(active) > 1 and -len(active) <= (n - 1 if n > 0 else n) < len(active):
        return str(active[n - 1 if n > 0 else n]["job_id"])
    from lqmf.copilot.app.quantize import canonical_type

    # the parser keeps no quant slots for a cancel: the types are read from the words
    types = set(quant_types(req)) or {q for q in (canonical_type(w) for w in re.findall(r"[\w]+", text.lower())) if q}
    same = [t for t in active if types and str(t.get("quant_type") or "").upper() in types]
    if len(same) == 1 and len(types) == 1:
        return str(same[0]["job_id"])
    if types or len(active) < 2:
        return None
    said = " ".join(w for w in re.findall(r"[\w.-]+", text.lower()) if w not in _CANCEL_WORDS)
    return named_choice(said, [str(t["job_id"]) for t in active], [job_refs.label(t) for t in active])


def numbered_job(req: dict, state: ChatState) -> tuple[str | None, dict | None]:
    """The job id a request names (a number said in the chat becomes its id), or the reply
    that says there is no such number."""
    n = job_refs.number_said(req, state.get("text") or "")
    if n is None:
        return req.get("job_id"), None
    job_id, why = job_refs.by_number(state, n)
    return job_id, ({"out": [render.text(why)], "request": None} if job_id is None else None)


def plan_jobs(req: dict, state: ChatState) -> dict:
    job_id, reply = numbered_job(req, state)
    if reply:
        return reply
    args = {"status": req.get("status"), "job_id": job_id}
    return {"plan": [step(state, 0, ToolName.JOBS, {k: v for k, v in args.items() if v is not None}, "jobs")]}


def plan_cancel(req: dict, state: ChatState) -> dict:
    job_id, reply = numbered_job(req, state)
    if reply:
        return reply
    if not job_id:
        active = job_refs.active(state)
        chosen = which_job(active, req, state.get("text") or "")
        if chosen:
            job_id = chosen
        elif len(active) == 1:
            job_id = active[0]["job_id"]
        elif len(active) > 1:
            ids = [t["job_id"] for t in active]
            labels = [job_refs.label(t) for t in active]
            return {"question": {**ask("job_id", "Cancel which job? " + ", ".join(
                f"{i} ({label})" for i, label in zip(ids, labels)), ids, None), "labels": labels}}
        else:
            return {"out": [render.text("Nothing of ours is queued or running; say 'jobs' to see the queue.")],
                    "request": None}
    return {"plan": [step(state, 0, ToolName.CANCEL, {"job_id": str(job_id)}, f"cancel job {job_id}")]}
