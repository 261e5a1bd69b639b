"""A task on a model that is known but not on this machine ("quantize tinyllama to Q4_K_M"):
the plan is made for the closest local model instead, and the reply says why the named one
cannot be used, how to get it, and asks one yes/no question: go ahead with the local one?"""
from __future__ import annotations

from lqmf.copilot import render
from lqmf.copilot.app import models as app_models
from lqmf.copilot.state import Intent

TASKS = (Intent.QUANTIZE, Intent.BENCHMARK, Intent.TUNE)


def swap(req: dict):
    """The ``StandIn`` for the request's model, or None (no model, or it is here, or unknown)."""
    if Intent(req["intent"]) not in TASKS or not req.get("model") or req.get("artifact") \
            or req.get("fetch_first"):
        return None
    return app_models.stand_in(str(req["model"]))


def swapped(req: dict, found) -> dict:
    """The request with the local model in place of the missing one."""
    return {**req, "model": found.model, "model_from_focus": None}


def offer(update: dict, found, read_as: str | None) -> dict:
    """Tell the user what is missing and what is used instead; a plan's confirmation asks
    about the local model by name."""
    lead = f"I read that as: {read_as}. " if read_as else ""
    how = f" To get it, {found.fix}." if found.fix else ""
    note = render.text(f"{lead}{found.wanted} is not on this machine ({found.problem}).{how} "
                       f"{found.model} is here ({found.why}), so I can use it instead.")
    update["out"] = [note, *(update.get("out") or [])]
    q = update.get("question") or {}
    if q.get("slot") == "confirm" and update.get("plan"):
        update["question"] = {**q, "prompt": f"Go ahead with {found.model} instead? [Y/n]"}
    return update
