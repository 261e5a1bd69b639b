"""Run a Query against the store; when nothing matches, find the nearest relaxation."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from lqmf.tools.fsutil import human_bytes
from lqmf.tools.store.query import NUMERIC, Field, Filter, Query
from lqmf.tools.store.records import ExperimentRecord

DEFAULT_LIMIT = 20
SEMANTIC_POOL = 50     # nearest candidates fetched before sorting a semantic query
COUNT_CAP = 1000       # counts stop here: "20 of more than 1000 runs" (an exact count reads every match)


class Engine(StrEnum):
    INDEX = "index"      # SQL on the side index: filter, sort, limit
    SCAN = "scan"        # every record through Query.matches and sort_records (the reference)


@dataclass
class Relaxation:
    dropped: Filter
    count: int
    message: str


@dataclass
class QueryResult:
    query: Query
    records: list[ExperimentRecord]
    total: int                               # rows matching before the limit (at most COUNT_CAP)
    engine: str
    semantic: bool = False
    distances: list[float] = field(default_factory=list)
    relaxations: list[Relaxation] = field(default_factory=list)
    elapsed_ms: float = 0.0
    total_exact: bool = True                 # False: more than ``total`` match

    def __post_init__(self) -> None:
        if self.total > COUNT_CAP:
            self.total, self.total_exact = COUNT_CAP, False

    @property
    def empty(self) -> bool:
        return not self.records

    def message(self) -> str:
        """One sentence when nothing matched (with the nearest relaxation)."""
        if self.records:
            shown = len(self.records)
            if self.total_exact and self.total <= shown:
                return ""
            return f"{shown} of {'' if self.total_exact else 'more than '}{self.total} {self.query.describe()}"
        head = f"no {self.query.describe()}"
        if self.relaxations:
            return f"{head}; {self.relaxations[0].message}"
        if not self.query.filters and not self.query.text:
            return "the store has no experiments yet; run `lqmf quantize smollm2 Q4_K_M` to make one"
        return f"{head}, and no run matches even with one condition dropped"

    def to_dict(self) -> dict:
        return {"query": self.query.to_dict(), "total": self.total, "total_exact": self.total_exact,
                "engine": self.engine,
                "semantic": self.semantic, "message": self.message() or None,
                "relaxations": [{"drop": r.dropped.field.value, "count": r.count,
                                 "message": r.message} for r in self.relaxations],
                "records": [r.to_dict() for r in self.records]}


def run(store, query: Query, engine: Engine = Engine.INDEX, relax: bool = True) -> QueryResult:
    """Rows for ``query`` (filters, sort, limit; semantic when it has text)."""
    t0 = time.perf_counter()
    now = time.time()
    limit = query.limit or DEFAULT_LIMIT
    if query.text:
        res = _semantic(store, query, now, limit)
    elif engine is Engine.INDEX:
        store.maybe_sync()
        where_sql, params = query.sql(now)
        if query.sort:  # a ranking is a pick: runs rejected by a quality gate are left out
            where_sql = " AND ".join(filter(None, [where_sql, "gate_failed IS NULL"]))
            for artifact, at in judged_out(store).items():
                where_sql += " AND NOT (artifact IS ? AND created_at <= ?)"
                params = [*params, artifact, at]
        total = store.index.count(where_sql, params, at_most=COUNT_CAP)
        res = QueryResult(query, store.find(where_sql, params, query.order_sql(), limit), total, engine.value)
    else:
        out = judged_out(store) if query.sort else {}
        rows = query.sort_records([r for r in store.iter_records() if query.matches(r, now)
                                   and not (query.sort and (r.gate_failed or _judged(r, out)))])
        res = QueryResult(query, rows[:limit], len(rows), engine.value)
    if res.empty and relax and (query.filters or query.text):
        res.relaxations = relaxations(store, query, now)
    res.elapsed_ms = (time.perf_counter() - t0) * 1000
    return res


def judged_out(store) -> dict[str, float]:
    """Artifacts a gate rejects now (tools/verdict.py), with when it judged them: their runs up to
    then are no pick either — the quantize run written before its gated benchmark, an ungated
    benchmark before the judgement. (A run that failed a gate itself has ``gate_failed`` set.)"""
    from lqmf.tools.verdict import standing

    failed = store.find("kind = ? AND gate_failed IS NOT NULL AND artifact IS NOT NULL", ["benchmark"])
    out = {}
    for artifact in {r.artifact for r in failed if r.artifact}:
        v = standing(artifact, store.find("artifact = ?", [artifact]))
        if v is not None and v.rejected:
            out[artifact] = v.at
    return out


def _judged(r: ExperimentRecord, out: dict[str, float]) -> bool:
    return r.artifact in out and r.created_at <= out[r.artifact]


def _semantic(store, query: Query, now: float, limit: int) -> QueryResult:
    """Chroma's nearest descriptions, the side index's runs for them, within the filters."""
    pool = max(limit, SEMANTIC_POOL) if query.sort else limit
    store.maybe_sync()
    where_sql, params = query.sql(now)
    hits = store.semantic(query.text, where_sql, params, n=pool)
    dist = {r.id: d for r, d in hits}
    records = [r for r, _ in hits]
    if query.sort:
        out = judged_out(store)
        records = query.sort_records([r for r in records if not r.gate_failed and not _judged(r, out)])
    records = records[:limit]
    return QueryResult(query, records, len(hits), "semantic",
                       semantic=True, distances=[dist[r.id] for r in records])


def relaxations(store, query: Query, now: float | None = None) -> list[Relaxation]:
    """Drop one filter at a time; numeric ones report the nearest value.

    Ordered nearest first: numeric limits (the closest value that exists), then
    dropped conditions by how many runs they would give."""
    now = time.time() if now is None else now
    store.maybe_sync()
    numeric, other = [], []
    base = Query(list(query.filters))
    for f in query.filters:
        q = base.without(f)
        where_sql, params = q.sql(now)
        n = store.index.count(where_sql, params, at_most=COUNT_CAP)
        if n == 0:
            continue
        if f.field in NUMERIC:
            numeric.append(Relaxation(f, n, _nearest(store, q, f, where_sql, params, now)))
        else:
            other.append(Relaxation(f, n, f"without \"{f.phrase()}\" there {_are(n)}"))
    other.sort(key=lambda r: -r.count)
    return numeric + other


def _are(n: int) -> str:
    return "is 1 run" if n == 1 else f"are more than {COUNT_CAP} runs" if n > COUNT_CAP else f"are {n} runs"


def _nearest(store, q: Query, f: Filter, where_sql: str, params: list, now: float) -> str:
    col, agg, what = {
        Field.MAX_SIZE_GB: ("size_bytes", "ASC", "the smallest is"),
        Field.MIN_TOK_S: ("gen_tok_s", "DESC", "the fastest runs at"),
        Field.SINCE_DAYS: ("created_at", "DESC", "the newest is from"),
    }[f.field]
    cond = f"{col} IS NOT NULL" + (f" AND {where_sql}" if where_sql else "")
    rows = store.index.select(cond, params, f"{col} {agg}", 1,
                              columns=f"{col}, model_key, quant_type")
    if not rows:
        return f"without \"{f.phrase()}\" there {_are(store.index.count(where_sql, params, at_most=COUNT_CAP))}"
    value, model, qtype = rows[0]
    label = f"{model} {qtype}" if qtype else model
    if f.field is Field.MAX_SIZE_GB:
        shown = human_bytes(value)
    elif f.field is Field.MIN_TOK_S:
        shown = f"{value:.1f} tok/s"
    else:
        days = (now - value) / 86400
        shown = f"{days:.0f} days ago" if days >= 1 else "today"
    return f"{what} {shown} ({label})"
