"""Compare: runs side by side with deltas against the first (the one compare
engine, ``tools/compare.py``), chosen by target or by model and quant types."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


def targets_from_text(targets: list[str]) -> list[str]:
    """One sentence ("the Q4_K_M and Q8_0 runs of smollm2") -> model:QTYPE targets."""
    if len(targets) != 1 or " " not in targets[0].strip():
        return targets
    from lqmf.copilot.parser import parse

    slots = parse(targets[0]).get("slots", {})
    model = slots.get("model")
    types = slots.get("quant_types") or ([slots["quant_type"]] if slots.get("quant_type") else [])
    if model and types:
        return [f"{model}:{t}" for t in types]
    return targets


def compare_targets(app: "App", targets: list[str]) -> Any:
    """Run ids, artifact paths or model:QTYPE (or one sentence) -> a ``Comparison``."""
    from lqmf.copilot.app.query import indexed_store
    from lqmf.tools.store.compare import compare, resolve_targets

    store = indexed_store(app, "compare")
    return compare(resolve_targets(store, targets_from_text(targets)))


@dataclass
class Latest:
    """The chat's compare: the latest finished result per (model, quant type), and
    their comparison when there are at least two."""

    rows: list[dict] = field(default_factory=list)
    comparison: Any = None


def compare_latest(app: "App", model: str | None = None, quant_types: list[str] | None = None,
                   methods: list[str] | None = None) -> Latest:
    from lqmf.tools.store.compare import compare
    from lqmf.tools.store.records import ExperimentRecord
    from lqmf.tools.status import Status

    rows = [r.to_dict() for r in app.store().all() if r.status == Status.SUCCEEDED]
    if model:
        rows = [r for r in rows if model in (r.get("model"), r.get("model_name"))]
    if quant_types:
        rows = [r for r in rows if (r.get("quant_type") or "").upper() in quant_types]
    if methods:
        rows = [r for r in rows if r.get("method") in methods]
    latest: dict[tuple, dict] = {}
    for r in sorted(rows, key=lambda r: r.get("created_at") or 0):
        key = (r.get("model_name") or r.get("model"), r.get("quant_type"))
        latest[key] = {**latest.get(key, {}), **{k: v for k, v in r.items() if v not in (None, [], {})}}
    found = list(latest.values())
    if len(found) < 2:
        return Latest(found)
    return Latest(found, compare([ExperimentRecord.from_dict(r) for r in found]))
