"""Side-by-side comparison of runs, with deltas against the first.

A target is a record id (or a unique prefix of 6+ characters), an artifact
path, or ``model:QTYPE`` (``smollm2:Q4_K_M``): the newest succeeded run of
that model and type, preferring benchmarks (they carry the numbers).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from lqmf.tools.errors import InvalidInput
from lqmf.tools.metrics import COMPARE, METRICS as METRIC_SPECS, Better, MetricSpec
from lqmf.tools.store.records import ExperimentRecord

METRICS = [METRIC_SPECS[m] for m in COMPARE]  # the rows, as tools.metrics declares them


@dataclass
class Delta:
    metric: MetricSpec
    value: float | None
    diff: float | None        # value - first
    pct: float | None         # relative to first, in percent
    verdict: str | None       # "better", "worse", "same", or None (not comparable)


@dataclass
class Comparison:
    records: list[ExperimentRecord]
    rows: list[list[Delta]]   # per metric, one Delta per record

    def to_dict(self) -> dict:
        return {
            "records": [r.to_dict() for r in self.records],
            "metrics": [{"metric": row[0].metric.field, "label": row[0].metric.label,
                         "better": row[0].metric.better.value,
                         "values": [d.value for d in row],
                         "deltas": [d.diff for d in row], "pct": [d.pct for d in row],
                         "verdicts": [d.verdict for d in row]} for row in self.rows],
        }


def compare(records: list[ExperimentRecord]) -> Comparison:
    rows = []
    for m in METRICS:
        values = [getattr(r, m.field) for r in records]
        if all(v is None for v in values):
            continue
        first = values[0]
        row = []
        for i, v in enumerate(values):
            if i == 0 or v is None or first is None:
                row.append(Delta(m, v, None, None, None))
                continue
            diff = v - first
            pct = diff / abs(first) * 100 if first else None
            if abs(diff) <= 1e-12 or (pct is not None and abs(pct) < 0.5):
                verdict = "same"
            else:
                verdict = "better" if (diff > 0) == (m.better is Better.HIGHER) else "worse"
            row.append(Delta(m, v, diff, pct, verdict))
        rows.append(row)
    return Comparison(records, rows)


def resolve_targets(store, targets: list[str]) -> list[ExperimentRecord]:
    if len(targets) < 2:
        raise InvalidInput("compare needs at least two runs",
                           "name them by id, artifact path or model:QTYPE, e.g. smollm2:Q4_K_M smollm2:Q8_0")
    return [resolve_target(store, t) for t in targets]


def resolve_target(store, target: str) -> ExperimentRecord:
    from lqmf.tools.store.schema import model_keys_for

    store.maybe_sync()
    text = target.strip()
    idx = store.index
    # 1. a record id, or a unique prefix
    hit = store.get([text])
    if hit:
        return hit[0]
    if len(text) >= 6 and all(c in "0123456789abcdef" for c in text.lower()):
        rows = idx.select("id LIKE ?", [text.lower() + "%"], "", 2)
        if len(rows) == 1:
            return store.get([rows[0][0]])[0]
        if len(rows) > 1:
            raise InvalidInput(f"{text!r} matches more than one run id", "give more characters of the id")
    # 2. an artifact path
    if os.sep in text or text.endswith((".gguf", ".safetensors")) or os.path.exists(text):
        paths = {text, os.path.abspath(os.path.expanduser(text))}
        ph = ",".join("?" * len(paths))
        rec = _best(store, f"artifact IN ({ph})", list(paths))
        if rec:
            return rec
        raise InvalidInput(f"no run in the store measured or produced {text}",
                           f"benchmark it first: lqmf bench {text}")
    # 3. model:QTYPE
    if ":" in text:
        from lqmf.tools.quantize.types import parse_quant_type

        model, _, qtype = text.rpartition(":")
        qt = parse_quant_type(qtype).value
        keys = model_keys_for(model)
        ph = ",".join("?" * len(keys))
        rec = _best(store, f"model_key IN ({ph}) AND quant_type = ?", [*keys, qt])
        if rec:
            return rec
        raise InvalidInput(f"no succeeded run of {model} at {qt} in the store",
                           f"make one: lqmf quantize {model} --type {qt}, then lqmf bench {model} --type {qt}")
    raise InvalidInput(f"{text!r} is not a run id, an artifact path or model:QTYPE",
                       "see `lqmf query` for ids, or write e.g. smollm2:Q4_K_M")


def _best(store, where_sql: str, params: list) -> ExperimentRecord | None:
    """Newest succeeded benchmark matching, else newest succeeded run."""
    for extra in ("kind = 'benchmark' AND status = 'succeeded'", "status = 'succeeded'"):
        rows = store.index.select(f"{where_sql} AND {extra}", params, "created_at DESC", 1)
        if rows:
            return store.get([rows[0][0]])[0]
    return None
