"""A built-in recommendation when ``tools.recommend`` is not there: the
catalog model and quant type that fit the stated memory and task."""
from __future__ import annotations

from lqmf.copilot import render


def recommend(slots: dict) -> list[dict]:
    try:
        import lqmf.tools.recommend as rec  # the real recommender, when it exists
    except ImportError:
        rec = None
    if rec is not None and hasattr(rec, "recommend"):
        result = rec.recommend(**slots) if not isinstance(slots, str) else rec.recommend(slots)
        rows = getattr(result, "rows", result)
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            cols = list(rows[0])
            return [render.table("Recommendation", cols, [[r.get(c) for c in cols] for r in rows])]
        return [render.text(str(result))]
    from lqmf import knowledge
    from lqmf.tools.quantize.registry import current

    mem = slots.get("vram_gb") or slots.get("ram_gb") or slots.get("max_size_gb") or 8
    task = slots.get("task", "chat")
    budget = float(mem) * (0.8 if not slots.get("max_size_gb") else 1.0)
    picks = []
    for e in knowledge.catalog():
        if task not in e.get("tasks", []) and task != "general":
            continue
        for qt in current().tune_types():  # best first
            spec = current().spec(qt)
            gb = e["params_b"] * spec.bpw / 8
            if gb <= budget:
                picks.append((e["params_b"], spec.bits, e["name"], qt.value, gb))
                break
    if not picks:
        return [render.text(f"Nothing in my catalog fits {mem} GB for {task}; try a smaller budget's model list with /models.")]
    picks.sort(reverse=True)
    rows = [[n, q, f"{gb:.1f} GB"] for _, _, n, q, gb in picks[:3]]
    return [render.text(f"For {task} in {mem} GB I'd start with {rows[0][0]} at {rows[0][1]} "
                        f"(the largest model that fits, at the best quant type that fits):"),
            render.table("Recommendation", ["model", "quant", "size"], rows)]
