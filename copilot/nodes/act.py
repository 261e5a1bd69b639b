"""act: run the plan's steps through the tool registry. Long tools only
submit scheduler jobs (the conversation goes on); quick ones run inline. A
failing tool becomes one sentence and the other steps go on where they can."""
from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from lqmf.copilot import render
from lqmf.copilot.nodes.resolve import EXTRAS
from lqmf.copilot.state import ChatState
from lqmf.copilot.tools_registry import LONG, ToolName, call
from lqmf.tools.errors import LqmfError, from_backend


def _benchmark_args(step: dict, done: dict[str, dict]) -> dict:
    """Wire a benchmark to the quantize step it follows: its job and artifact."""
    args = dict(step["args"])
    for dep in step.get("after") or []:
        if dep in done and done[dep].get("job_id"):
            args["job_id"] = done[dep]["job_id"]
    return args


def act(state: ChatState, config: RunnableConfig) -> dict:
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    req = dict(state.get("request") or {})
    out: list[dict] = []
    calls, tracked = [], []
    done: dict[str, dict] = {}
    failed: set[str] = set()
    focus: dict = {}
    batch: list[dict] = []
    listing = None
    goal = None
    for step in state.get("plan") or []:
        if step["id"] == "goal":
            goal = dict(step["args"])
            continue
        if any(d in failed for d in step.get("after") or []):
            failed.add(step["id"])
            out.append(render.text(f"Skipped: {step['label']} (the step it needs did not start)."))
            continue
        tool = ToolName(step["tool"])
        args = _benchmark_args(step, done) if tool is ToolName.BENCHMARK else dict(step["args"])
        calls.append({"tool": tool.value, "args": args})
        try:
            outcome = call(tool.value, args)
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
        if tool in LONG:
            t = {"job_id": outcome.data["job_id"], "step_id": step["id"], "tool": tool.value,
                 "model": args.get("model"), "quant_type": args.get("quant_type"), "status": "queued",
                 "announced": False}
            tracked.append(t)
            if thread:
                from lqmf.copilot.session import journal

                journal(thread, t["job_id"], tool.value, args)
            if tool is ToolName.QUANTIZE:
                item = {"model": t["model"], "quant_type": t["quant_type"], "job_id": t["job_id"]}
                batch.append(item)
                focus.update(item, artifact=None)
        elif tool is ToolName.CANCEL and any(t["job_id"] == args["job_id"] for t in state.get("tracked") or []):
            tracked.append({"job_id": args["job_id"], "status": "cancelled", "announced": True})
        if outcome.data.get("rows") and tool in (ToolName.QUERY, ToolName.JOBS, ToolName.COMPARE):
            listing = outcome.data["rows"]
    if batch:
        focus["batch"] = batch
        focus["batch_jobs"] = [b["job_id"] for b in batch]
    if goal is not None:
        focus["goal"] = {**goal, "jobs": [t["job_id"] for t in tracked if t["tool"] == "benchmark"],
                         "announced": False}
    if req.get("intent") in ("quantize", "benchmark", "tune") and calls:
        focus["last_request"] = {k: v for k, v in req.items() if k not in EXTRAS or k == "and_benchmark"}
        if req.get("model"):
            focus.setdefault("model", req["model"])
    update: dict = {"out": out, "calls": calls, "tracked": tracked, "focus": focus, "request": None,
                    "plan": [], "confirmed": False,
                    "step_seq": (state.get("step_seq") or 0) + len(state.get("plan") or [])}
    if listing is not None:
        update["listing"] = listing
    return update
