"""respond: finish the turn's answer (a free-form reply from the optional LLM
when nothing else answered) and record it in the history."""
from __future__ import annotations

from langgraph.runtime import Runtime

from lqmf.copilot import render
from lqmf.copilot.app import App
from lqmf.copilot.nodes.context import app_of
from lqmf.copilot.state import ChatState, Intent

FALLBACK = ("I didn't understand that. I can quantize, benchmark, compare and search your experiments, "
            "watch jobs, recommend a model or explain a term; say 'help' for examples.")
NO_LLM = "no_llm"


def respond(state: ChatState, runtime: Runtime[App]) -> dict:
    out: list[dict] = []
    said: list[str] = []
    intent = state.get("intent")
    if intent == Intent.UNKNOWN and not state.get("out") and not state.get("question"):
        reply = app_of(runtime).reply(state.get("text", ""), state.get("history") or [])
        if reply:
            out.append(render.text(reply))
        else:
            out.append(render.text(FALLBACK))
            if NO_LLM not in (state.get("said") or []):
                out.append(render.text("(No LLM is configured, so I answer free-form questions only from built-in "
                                       "notes; every task still works. Set [chat] llm in config.toml to add one.)"))
                said.append(NO_LLM)
    if intent == Intent.TICK:
        return {"out": out}
    lines = [render.plain(b) if b.get("kind") != "table" else f"[table: {b.get('title', '')}]"
             for b in [*(state.get("out") or []), *out]]
    update: dict = {"out": out, "history": [{"role": "copilot", "text": "\n".join(lines)[:2000]}]}
    if said:
        update["said"] = said
    return update
