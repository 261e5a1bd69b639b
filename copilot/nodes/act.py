"""act: run the plan's steps through the tool registry. Long tools only
submit scheduler jobs (the conversation goes on); quick ones run inline. A
failing tool becomes one sentence and the other steps go on where they can.
act knows no tool: each outcome carries its own effects on the state
(``ToolOutcome.tracked/focus/batch/listing``), applied here in step order."""
from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from lqmf.copilot import render
from lqmf.copilot.app import App
from lqmf.copilot.nodes.context import app_of, thread_of
from lqmf.copilot.nodes.resolve import EXTRAS
from lqmf.copilot.state import ChatState, Focus, Goal, Step, ToolName, Tracked
from lqmf.copilot.tools_registry import TOOLS, ToolContext, call
from lqmf.tools.errors import LqmfError, from_backend

TASK_INTENTS = ("quantize", "benchmark", "tune")
QUESTION_INTENTS = ("query", "recommend", "explain", "compare")   # a follow-up can change them (nodes/resolve.follow_up)


def wired_args(step: Step, done: dict[str, dict]) -> dict:
    """The step's arguments, with the job of the step it runs after where the tool takes one."""
    args = dict(step.get("args") or {})
    arg = TOOLS[ToolName(step["tool"])].upstream_job_arg
    for dep in step.get("after") or []:
        if arg and dep in done and done[dep].get("job_id"):
            args[arg] = done[dep]["job_id"]
    return args


def act(state: ChatState, config: RunnableConfig, runtime: Runtime[App]) -> dict:
    app = app_of(runtime)
    thread = thread_of(config)
    req = dict(state.get("request") or {})
    out: list[dict] = []
    calls: list[dict] = []
    tracked: list[Tracked] = []
    done: dict[str, dict] = {}
    failed: set[str] = set()
    focus: Focus = {}
    batch: list = []
    listing = None
    measuring: list[str] = []
    for step in state.get("plan") or []:
        if any(d in failed for d in step.get("after") or []):
            failed.add(step["id"])
            out.append(render.text(f"Skipped: {step['label']} (the step it needs did not start)."))
            continue
        tool = ToolName(step["tool"])
        args = wired_args(step, done)
        calls.append({"tool": tool.value, "args": args})
        ctx = ToolContext(app, step, list(state.get("tracked") or []))
        try:
            outcome = call(tool.value, args, ctx)
        except LqmfError as e:
            failed.add(step["id"])
            out.append(render.error(str(e)))
            continue
        except Exception as e:  # a tool bug: one sentence, the conversation goes on
            failed.add(step["id"])
            out.append(render.error(str(from_backend(e, f"the {tool.value} tool"))))
            continue
        out.extend(outcome.blocks)
        done[step["id"]] = outcome.data
        for t in outcome.tracked:
            tracked.append(t)
            if t.get("tool") and thread:  # a new job: journaled at once
                from lqmf.copilot.journal import journal

                journal(thread, t["job_id"], t["tool"], args)
            if t.get("tool") and TOOLS[tool].measures:
                measuring.append(t["job_id"])
        focus.update(outcome.focus)
        batch.extend(outcome.batch)
        if outcome.listing is not None:
            listing = outcome.listing
    if batch:
        focus["batch"] = batch
        focus["batch_jobs"] = [b["job_id"] for b in batch]
    update: dict = {"out": out, "calls": calls, "tracked": tracked, "request": None, "plan": [],
                    "plan_goal": None, "confirmed": False,
                    "step_seq": (state.get("step_seq") or 0) + len(state.get("plan") or [])}
    if state.get("plan_goal"):
        goal: Goal = {**state["plan_goal"], "jobs": measuring, "announced": False}  # type: ignore[typeddict-item]
        update["goal"] = goal
    if req.get("intent") in TASK_INTENTS and calls:
        focus["last_request"] = {k: v for k, v in req.items()  # type: ignore[typeddict-item]
                                 if k not in EXTRAS or k in ("and_benchmark", "deferred")}
        if req.get("model"):
            focus.setdefault("model", str(req["model"]))
    if req.get("intent") in ("query", "compare") and calls and req.get("model") and "/" not in str(req["model"]):
        focus["model"] = str(req["model"])   # "how have my smollm2 runs gone?" ... "then quantize it"
    if req.get("intent") in QUESTION_INTENTS and calls and not req.get("feedback"):
        focus["last_question"] = {k: v for k, v in req.items()  # type: ignore[typeddict-item]
                                  if k not in EXTRAS and k != "hint"}
        if req.get("intent") == "compare" and calls[-1].get("tool") == "explain":
            # "gptq vs awq, which is better?" answered from the notes: an explanation is what follows up
            unmeasured = (calls[-1].get("args") or {}).get("unmeasured") or []
            focus["last_question"] = {"intent": "explain", "topic": " vs ".join(map(str, unmeasured))}
    update["focus"] = focus
    if listing is not None:
        update["listing"] = listing
    return update
