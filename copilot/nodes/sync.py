"""sync: refresh the jobs this conversation submitted from the scheduler's
job store (the source of truth) and announce the ones that finished."""
from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from lqmf.copilot import backends, render
from lqmf.copilot.state import RESET, ChatState


def describe_result(t: dict, row: dict) -> str:
    res = row.get("result") or {}
    res = res.get("record", res) if isinstance(res, dict) else {}
    what = " ".join(x for x in (t.get("model"), t.get("quant_type")) if x)
    if row["status"] == "failed":
        return f"Job {t['job_id']} ({t['tool']} {what}) failed: {row.get('error') or 'no reason given'}"
    if row["status"] == "cancelled":
        return f"Job {t['job_id']} ({t['tool']} {what}) was cancelled."
    from lqmf.tools.metrics import CHAT_SENTENCE, say

    bits = [w for m in CHAT_SENTENCE if (w := say(m, res.get(m.value)))]
    dry = " (dry run)" if row.get("kind") in ("noop", "sleep") else ""
    tail = ": " + ", ".join(bits) if bits else ""
    return f"Job {t['job_id']} ({t['tool']} {what}) finished{dry}{tail}."


def refresh(tracked: list[dict]) -> tuple[list[dict], list[dict]]:
    """(updates for ``tracked``, blocks announcing finished jobs)."""
    updates, out = [], []
    for t in tracked:
        if t.get("announced"):
            continue
        row = backends.get_job(t["job_id"])
        if row is None:
            continue
        upd = {"job_id": t["job_id"], "status": row["status"]}
        if row["status"] in backends.FINAL:
            upd["announced"] = True
            result = row.get("result") or {}
            if isinstance(result, dict) and result.get("artifact"):
                upd["artifact"] = str(result["artifact"])
            text = describe_result(t, row)
            out.append(render.error(text) if row["status"] == "failed" else render.text(text))
        if upd["status"] != t.get("status") or upd.get("announced"):
            updates.append(upd)
    return updates, out


def goal_check(goal: dict) -> list[dict]:
    """When every benchmark of a tune run is done: the smallest artifact within the limits."""
    rows = [backends.get_job(j) for j in goal.get("jobs", [])]
    if any(r is None or r["status"] not in backends.FINAL for r in rows):
        return []
    recs = [(r.get("result") or {}).get("record") or {} for r in rows if r["status"] == "succeeded"]
    ok = [x for x in recs if x.get("size_bytes")
          and (goal.get("max_kld") is None or (x.get("kld_mean") is not None and x["kld_mean"] <= goal["max_kld"]))
          and (goal.get("max_ppl_delta_pct") is None or (x.get("ppl_delta_pct") is not None
                                                         and x["ppl_delta_pct"] <= goal["max_ppl_delta_pct"]))
          and (goal.get("max_size_gb") is None or x["size_bytes"] <= goal["max_size_gb"] * 1e9)]
    limits = ", ".join(f"{k} {v}" for k, v in goal.items() if k.startswith("max_"))
    if not ok:
        return [render.text(f"None of the {len(rows)} candidates met {limits}.")]
    best = min(ok, key=lambda x: x["size_bytes"])
    return [render.text(f"Best within {limits}: {best.get('quant_type')} ({render._size(best['size_bytes'])}, "
                        f"KLD {best.get('kld_mean')}) at {best.get('artifact')}.")]


def sync(state: ChatState, config: RunnableConfig) -> dict:
    tracked = list(state.get("tracked") or [])
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    known = {t["job_id"] for t in tracked}
    lost = []  # submitted by a turn that was killed before its checkpoint
    if thread:
        from lqmf.copilot.session import journaled

        lost = [{**j, "status": None, "announced": False} for j in journaled(thread) if j["job_id"] not in known]
        tracked += lost
    focus = state.get("focus") or {}
    goal = focus.get("goal") or {}
    if not any(not t.get("announced") for t in tracked) and not (goal and not goal.get("announced")):
        return {"out": [RESET]}
    try:
        updates, out = refresh(tracked)
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
        found = goal_check(goal)
        if found:
            update["out"].extend(found)
            update.setdefault("focus", {})["goal"] = {**goal, "announced": True}
    return update
