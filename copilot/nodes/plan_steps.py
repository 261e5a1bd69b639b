"""The parts every planner uses: the quant types a request names, the checks of a
model and a type, a question, and a plan's step."""
from __future__ import annotations

from lqmf.copilot.app import models as app_models
from lqmf.copilot.app import quantize as app_quantize
from lqmf.copilot.app.quants import type_for_bits
from lqmf.copilot.state import ChatState, Question, Step, ToolName
from lqmf.copilot.tools_registry import TOOLS

DEFAULT_MODEL = "smollm2"


def quant_types(req: dict) -> list[str]:
    """The quant types the request names, or can infer from bits + method."""
    if req.get("quant_types"):
        return [str(q).upper() for q in req["quant_types"]]
    if req.get("quant_type"):
        return [str(req["quant_type"]).upper()]
    qt = type_for_bits(req.get("bits"), req.get("method"))
    return [qt] if qt else []


def check_type(qt: str, method: str | None) -> str | None:
    """None if usable, else one sentence."""
    return app_quantize.problem_with_type(qt, method)


def size_note(model: str, qt: str) -> str:
    gb = app_quantize.estimated_gb(model, qt)
    if gb is None:
        return ""
    return f" (about {gb * 1000:.0f} MB)" if gb < 1 else f" (about {gb:.1f} GB)"


def check_model(model: str) -> str | None:
    return app_models.problem_with(model)


def ask(slot: str, prompt: str, choices: list[str] | None = None, default: str | None = None) -> Question:
    return {"slot": slot, "prompt": prompt, "choices": choices or [], "default": default}


def step(state: ChatState, n: int, tool: ToolName, args: dict, label: str, after: list[str] | None = None) -> Step:
    return {"id": f"s{(state.get('step_seq') or 0) + n}", "tool": tool, "args": args, "label": label,
            "expensive": TOOLS[tool].long, "after": after or []}


def model_or_question(req: dict, prompt: str) -> tuple[str, dict | None]:
    """The request's model, or the update that asks for it (``prompt``) or says what is wrong with it."""
    model = req.get("model")
    if not model:
        return "", {"question": ask("model", prompt, app_models.bundled() or [DEFAULT_MODEL], DEFAULT_MODEL)}
    problem, unknown = app_models.examine(model)
    if unknown:
        # a name this machine does not have and the catalog does not know: ask for one that is here
        here = app_models.bundled() or [DEFAULT_MODEL]
        return model, {"question": ask("model", f"Unknown model '{model}': it is not bundled, not a folder or file "
                                       f"and not in the Hugging Face cache. Which model? {here[0]} is bundled "
                                       f"and takes seconds.", here, here[0]),
                       "request": {**req, "model": None}}
    if problem:
        from lqmf.copilot import render

        return model, {"out": [render.error(problem)], "request": None}
    return model, None
