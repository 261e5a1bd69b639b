"""The measured numbers of a run, declared once: record field, label, unit,
which direction is better, how it is written. Compare, the CLI tables, the
chat's tables and sentences, the query's sort keys and the side index's
columns all read these declarations; which metrics a view shows (and in what
order) is the view's choice, a tuple of ``Metric``."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeGuard


class Metric(StrEnum):
    """A measured number; the value is the ExperimentRecord field that holds it."""
    SIZE = "size_bytes"
    GEN_TOK_S = "gen_tok_s"
    PROMPT_TOK_S = "prompt_tok_s"
    KLD_MEAN = "kld_mean"
    KLD_P99 = "kld_p99"
    TOP1_PCT = "top1_pct"
    PPL = "ppl"
    PPL_DELTA_PCT = "ppl_delta_pct"
    LOAD_S = "load_s"
    PEAK_RSS_MB = "peak_rss_mb"
    DURATION_S = "duration_s"


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


BYTES = "bytes"   # a format that means "human-readable bytes"


@dataclass(frozen=True)
class MetricSpec:
    metric: Metric
    label: str          # column header ("tg tok/s")
    unit: str           # "bytes", "tok/s", "" for a plain number
    better: Better
    fmt: str            # format spec for tables ("{:.4f}"), or BYTES
    say: str            # how a sentence writes it ("{:.1f} tok/s", "KLD {:.4f}")
    sql: str            # the side index's column type

    @property
    def field(self) -> str:
        return self.metric.value


_M = MetricSpec
METRICS: dict[Metric, MetricSpec] = {s.metric: s for s in [
    _M(Metric.SIZE, "size", "bytes", Better.LOWER, BYTES, "{}", "INTEGER"),
    _M(Metric.GEN_TOK_S, "tg tok/s", "tok/s", Better.HIGHER, "{:.1f}", "{:.1f} tok/s", "REAL"),
    _M(Metric.PROMPT_TOK_S, "pp tok/s", "tok/s", Better.HIGHER, "{:.0f}", "pp {:.0f} tok/s", "REAL"),
    _M(Metric.KLD_MEAN, "mean KLD", "", Better.LOWER, "{:.4f}", "KLD {:.4f}", "REAL"),
    _M(Metric.KLD_P99, "p99 KLD", "", Better.LOWER, "{:.4f}", "p99 KLD {:.4f}", "REAL"),
    _M(Metric.TOP1_PCT, "top-1 %", "%", Better.HIGHER, "{:.1f}", "top-1 {:.1f}%", "REAL"),
    _M(Metric.PPL, "ppl", "", Better.LOWER, "{:.3f}", "ppl {:.2f}", "REAL"),
    _M(Metric.PPL_DELTA_PCT, "Δppl %", "%", Better.LOWER, "{:+.2f}", "Δppl {:+.2f}%", "REAL"),
    _M(Metric.LOAD_S, "load s", "s", Better.LOWER, "{:.2f}", "load {:.2f} s", "REAL"),
    _M(Metric.PEAK_RSS_MB, "peak RSS MB", "MB", Better.LOWER, "{:.0f}", "peak RSS {:.0f} MB", "REAL"),
    _M(Metric.DURATION_S, "duration s", "s", Better.LOWER, "{:.1f}", "in {:.1f} s", "REAL"),
]}
assert set(METRICS) == set(Metric), "every Metric needs a MetricSpec"

# The views: which metrics each one shows, in order.
COMPARE = (Metric.SIZE, Metric.GEN_TOK_S, Metric.PROMPT_TOK_S, Metric.KLD_MEAN, Metric.KLD_P99, Metric.TOP1_PCT,
           Metric.PPL, Metric.PPL_DELTA_PCT, Metric.LOAD_S, Metric.PEAK_RSS_MB, Metric.DURATION_S)
QUALITY_TABLE = (Metric.SIZE, Metric.PPL, Metric.PPL_DELTA_PCT, Metric.KLD_MEAN, Metric.KLD_P99, Metric.TOP1_PCT,
                 Metric.PROMPT_TOK_S, Metric.GEN_TOK_S, Metric.LOAD_S, Metric.PEAK_RSS_MB)
QUERY_TABLE = (Metric.SIZE, Metric.GEN_TOK_S, Metric.KLD_MEAN, Metric.PPL_DELTA_PCT)
CHAT_TABLE = (Metric.SIZE, Metric.GEN_TOK_S, Metric.PPL, Metric.KLD_MEAN)
CHAT_SENTENCE = (Metric.SIZE, Metric.GEN_TOK_S, Metric.PPL, Metric.KLD_MEAN, Metric.DURATION_S)


def spec(metric: Metric | str) -> MetricSpec:
    return METRICS[Metric(metric)]


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt(metric: Metric | str, value: object, missing: str = "–") -> str:
    """A value as a table cell ("105.2 MB", "0.0610"); ``missing`` when there is none."""
    s = spec(metric)
    if not _number(value):
        return missing
    if s.fmt == BYTES:
        from lqmf.tools.fsutil import human_bytes

        return human_bytes(int(value))
    return s.fmt.format(value)


def say(metric: Metric | str, value: object) -> str | None:
    """A value as words in a sentence ("96.1 tok/s", "KLD 0.0610"), or None when there is none."""
    s = spec(metric)
    if not _number(value):
        return None
    if s.fmt == BYTES:
        return fmt(metric, value)
    return s.say.format(value)


def index_columns() -> dict[str, str]:
    """Record field -> SQL type of every metric, for the side index's table
    (tools/store: the filter+sort index adds these columns)."""
    return {s.field: s.sql for s in METRICS.values()}
