"""sync: refresh the jobs this conversation submitted from the scheduler's
job store (the source of truth) and announce the ones that finished."""
from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from lqmf.copilot import render
from lqmf.copilot.app import App
from lqmf.copilot.app import jobs as app_jobs
from lqmf.copilot.app.types import Status
from lqmf.copilot.nodes.context import app_of, thread_of
from lqmf.copilot.state import RESET, ChatState, Goal


def describe_result(t: dict, row: dict) -> str:
    res = row.get("result") or {}
    res = res.get("record", res) if isinstance(res, dict) else {}
    what = " ".join(x for x in (t.get("model"), t.get("quant_type")) if x)
    if row["status"] == Status.FAILED:
        return f"Job {t['job_id']} ({t['tool']} {what}) failed: {row.get('error') or 'no reason given'}"
    if row["status"] == Status.CANCELLED:
        return f"Job {t['job_id']} ({t['tool']} {what}) was cancelled."
    if row.get("kind") == "tune" and isinstance(row.get("result"), dict) and row["result"].get("reason"):
        r = row["result"]
        n, art = len(r.get("trials") or []), (r.get("best_record") or {}).get("artifact")
        return (f"Job {t['job_id']} (tune {t.get('model')}) finished after {n} trial{'s' if n != 1 else ''}: "
                f"{r['reason']}" + (f", at {art}." if art else "."))
    from lqmf.copilot.app.types import CHAT_SENTENCE, say

    dry = " (dry run)" if row.get("kind") in ("noop", "sleep") else ""
    bits = [w for m in CHAT_SENTENCE if (w := say(m, res.get(m.value)))]
    words = ""
    if t.get("tool") == "benchmark" and res.get("kld_mean") is not None:   # how good it is, in words
        from lqmf.copilot.app.compare import against_original

        named = {**res, "model_name": res.get("model_name") or t.get("model"),
                 "quant_type": res.get("quant_type") or t.get("quant_type")}
        words = " " + against_original(named)
    tail = ": " + ", ".join(bits) if bits else ""
    return f"Job {t['job_id']} ({t['tool']} {what}) finished{dry}{tail}.{words}"


def refresh(app: App, tracked: list) -> tuple[list[dict], list[dict]]:
    """(updates for ``tracked``, blocks announcing finished jobs)."""
    updates, out = [], []
    for t in tracked:
        if t.get("announced"):
            continue
        view = app_jobs.get(app, t["job_id"])
        if view is None:
            continue
        row = view.row()
        upd = {"job_id": t["job_id"], "status": row["status"]}
        if view.done:
            upd["announced"] = True
            result = row.get("result") or {}
            if isinstance(result, dict) and result.get("artifact"):
                upd["artifact"] = str(result["artifact"])
            text = describe_result(t, row)
            out.append(render.error(text) if view.status is Status.FAILED else render.text(text))
        if upd["status"] != t.get("status") or upd.get("announced"):
            updates.append(upd)
    return updates, out


def goal_check(app: App, goal: Goal) -> list[dict]:
    """When every benchmark of a tune run is done: the smallest artifact within the limits
    (``app.sweep.best_within``, the one best-pick)."""
    from lqmf.copilot.app.sweep import Goal as Limits, best_within

    views = [app_jobs.get(app, j) for j in goal.get("jobs", [])]
    if any(v is None or not v.done for v in views):
        return []
    recs = [(v.result or {}).get("record") or {} for v in views if v is not None and v.status is Status.SUCCEEDED]
    limits = {k: v for k, v in goal.items() if k.startswith("max_")}
    words = ", ".join(f"{k} {v}" for k, v in limits.items())
    best = best_within(recs, Limits(**limits))  # type: ignore[arg-type]
    if best is None:
        return [render.text(f"None of the {len(views)} candidates met {words}.")]
    return [render.text(f"Best within {words}: {best.quant_type} ({render._size(best.size_bytes)}, "
                        f"KLD {best.kld_mean}) at {best.artifact}.")]


def sync(state: ChatState, config: RunnableConfig, runtime: Runtime[App]) -> dict:
    tracked: list = list(state.get("tracked") or [])
    thread = thread_of(config)
    known = {t["job_id"] for t in tracked}
    lost = []  # submitted by a turn that was killed before its checkpoint
    if thread:
        from lqmf.copilot.journal import journaled

        lost = [{**j, "status": None, "announced": False} for j in journaled(thread) if j["job_id"] not in known]
        tracked += lost
    focus = state.get("focus") or {}
    goal = state.get("goal") or {}
    if not any(not t.get("announced") for t in tracked) and not (goal and not goal.get("announced")):
        return {"out": [RESET]}
    app = app_of(runtime)
    try:
        updates, out = refresh(app, tracked)
    except ImportError:
        return {"out": [RESET]}
    update: dict = {"tracked": lost + updates, "out": [RESET, *out]}
    arts = {u["job_id"]: u["artifact"] for u in updates if u.get("artifact")}
    if arts:
        new_focus: dict = {}
        if focus.get("job_id") in arts:
            new_focus["artifact"] = arts[focus["job_id"]]
        if focus.get("batch"):
            new_focus["batch"] = [{**b, "artifact": arts.get(b.get("job_id"), b.get("artifact"))}
                                  for b in focus["batch"]]
        update["focus"] = new_focus
    if goal and not goal.get("announced"):
        found = goal_check(app, goal)
        if found:
            update["out"].extend(found)
            update["goal"] = {**goal, "announced": True}
    return update
