"""The metric registry (tools/metrics.py) is the one declaration every view reads."""
from __future__ import annotations

from dataclasses import fields

import pytest

from lqmf.tools.metrics import COMPARE, METRICS, Better, Metric, fmt, index_columns, say
from lqmf.tools.store.records import ExperimentRecord


def test_every_metric_is_a_record_field():
    names = {f.name for f in fields(ExperimentRecord)}
    assert {m.value for m in Metric} <= names


@pytest.mark.parametrize("metric, value, cell, words", [
    (Metric.GEN_TOK_S, 96.14, "96.1", "96.1 tok/s"),
    (Metric.KLD_MEAN, 0.06104, "0.0610", "KLD 0.0610"),
    (Metric.PPL, 3.7812, "3.781", "ppl 3.78"),           # tables keep 3 decimals, sentences 2
    (Metric.PPL_DELTA_PCT, 1.5, "+1.50", "Δppl +1.50%"),
    (Metric.SIZE, 105_000_000, None, None),               # bytes: the same human form in both
    (Metric.KLD_MEAN, None, "–", None),                   # nothing measured
])
def test_cells_and_words(metric, value, cell, words):
    from lqmf.tools.fsutil import human_bytes

    if metric is Metric.SIZE:
        assert fmt(metric, value) == say(metric, value) == human_bytes(value)
        return
    assert fmt(metric, value) == cell
    assert say(metric, value) == words


def test_compare_reads_the_registry():
    from lqmf.tools.store.compare import compare

    a = ExperimentRecord(kind="benchmark", status="succeeded", model="m", gen_tok_s=100.0, kld_mean=0.02)
    b = ExperimentRecord(kind="benchmark", status="succeeded", model="m", gen_tok_s=120.0, kld_mean=0.04)
    rows = {row[0].metric.field: row for row in compare([a, b]).rows}
    assert list(rows) == [m.value for m in COMPARE if m.value in rows]
    assert rows["gen_tok_s"][1].verdict == "better" and rows["kld_mean"][1].verdict == "worse"
    assert rows["kld_mean"][0].metric.label == METRICS[Metric.KLD_MEAN].label
    assert METRICS[Metric.GEN_TOK_S].better is Better.HIGHER


def test_query_sorts_are_metric_columns():
    from lqmf.tools.store.query import SORTS, SortKey

    metric_cols = {m.value for m in Metric}
    assert {SORTS[k].column for k in (SortKey.SPEED, SortKey.SIZE, SortKey.QUALITY)} <= metric_cols


def test_side_index_columns_come_from_the_registry():
    cols = index_columns()
    assert set(cols) == {m.value for m in Metric}
    assert cols["size_bytes"] == "INTEGER" and cols["kld_mean"] == "REAL"
