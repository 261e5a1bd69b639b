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


MEASURED = ("ppl", "kld_mean", "gen_tok_s", "top1_pct")


def measurement(app: "App", model: str | None, quant_type: str) -> dict | None:
    """The latest finished measurement of ``model`` at ``quant_type`` (its runs merged), or
    None when it was never benchmarked ("how good is it?" then offers to measure)."""
    for row in compare_latest(app, model, [quant_type.upper()]).rows:
        if any(row.get(k) is not None for k in MEASURED):
            return row
    return None


def _kld_words(kld: float) -> str:
    if kld < 0.01:
        return "practically indistinguishable from the original"
    if kld < 0.05:
        return "close to the original"
    if kld < 0.2:
        return "noticeably different from the original"
    return "far from the original"


def against_original(row: dict) -> str:
    """One measured artifact against its unquantized original, in words with the numbers
    ("smollm2 Q5_K_M is close to the original: mean KL divergence 0.021, perplexity 21.3
    against 20.9 (+1.9%), 96% of next tokens the same; 105 MB, 61 tok/s")."""
    from lqmf.copilot.app.types import human_bytes

    what = " ".join(str(x) for x in (row.get("model_name") or row.get("model"), row.get("quant_type")) if x)
    facts: list[str] = []
    kld, ppl, base = row.get("kld_mean"), row.get("ppl"), row.get("base_ppl")
    if kld is not None:
        facts.append(f"mean KL divergence {kld:.4f}")
    if ppl is not None and base:
        facts.append(f"perplexity {ppl:.2f} against {base:.2f} for the original ({(ppl / base - 1) * 100:+.1f}%)")
    elif ppl is not None:
        facts.append(f"perplexity {ppl:.2f}")
    if row.get("top1_pct") is not None:
        facts.append(f"{row['top1_pct']:.0f}% of next tokens the same as the original's")
    tail = [x for x in (human_bytes(row["size_bytes"]) if row.get("size_bytes") else None,
                        f"{row['gen_tok_s']:.1f} tok/s" if row.get("gen_tok_s") is not None else None) if x]
    verdict = f"{what} is {_kld_words(kld)}" if kld is not None else f"{what} measured"
    return verdict + (": " + ", ".join(facts) if facts else "") + ("; " + ", ".join(tail) if tail else "") + "."
