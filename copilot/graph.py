"""The copilot's StateGraph. Routers are pure functions of the state that
return node names; the wiring is declared once, at the bottom."""
from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from lqmf.copilot.app import App
from lqmf.copilot.nodes.act import act
from lqmf.copilot.nodes.ask import ask, unpark
from lqmf.copilot.nodes.plan import plan
from lqmf.copilot.nodes.respond import respond
from lqmf.copilot.nodes.sync import sync
from lqmf.copilot.nodes.tutor import tutor
from lqmf.copilot.nodes.understand import understand
from lqmf.copilot.state import AskResult, ChatInput, ChatState


def after_plan(state: ChatState) -> str:
    """A question first; then the steps; else straight to the answer."""
    if state.get("question"):
        return "ask"
    if state.get("plan"):
        return "act"
    return "respond"


def after_ask(state: ChatState) -> str:
    return {AskResult.CONFIRMED: "act", AskResult.DROPPED: "respond",
            AskResult.REDIRECT: "understand"}.get(AskResult(state.get("ask_result", "answered")), "plan")


def after_respond(state: ChatState) -> str:
    """A question set aside for a quick answer is asked again; else the tutor's turn."""
    return "unpark" if state.get("parked") else "tutor"


def build(checkpointer=None):
    # the nodes' dependencies (store, job queue, LLM, clock) come as the runtime context
    g = StateGraph(ChatState, input_schema=ChatInput, context_schema=App)
    g.add_node("sync", sync)
    g.add_node("understand", understand)
    g.add_node("plan", plan)
    g.add_node("ask", ask)
    g.add_node("act", act)
    g.add_node("respond", respond)
    g.add_node("tutor", tutor)
    g.add_node("unpark", unpark)

    g.add_edge(START, "sync")
    g.add_edge("sync", "understand")
    g.add_edge("understand", "plan")
    g.add_conditional_edges("plan", after_plan, ["ask", "act", "respond"])
    g.add_conditional_edges("ask", after_ask, ["act", "respond", "understand", "plan"])
    g.add_edge("act", "respond")
    g.add_conditional_edges("respond", after_respond, ["unpark", "tutor"])
    g.add_edge("unpark", "ask")
    g.add_edge("tutor", END)
    return g.compile(checkpointer=checkpointer)
