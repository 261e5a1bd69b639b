"""Structured queries over the experiment store.

A ``Query`` (filters, sort, order, limit, since, free text) is built from the
slots of ``lqmf parse`` (copilot/parser/CONTRACT.md) or from command-line flags. It
runs as SQL on the side index (tools/store/index.py), which holds every
record; ``matches`` and ``sort_records`` are the same rules in Python (the
reference the tests hold the SQL to). A free-text remainder ("runs where
quality collapsed") goes to semantic search over the generated descriptions,
within the same filters.

Sort words follow the contract: ``order=desc`` means "most of it": fastest,
largest, best quality (lowest KLD), newest. This module never imports copilot/.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lqmf.tools.errors import InvalidInput
from lqmf.tools.metrics import METRICS, Metric
from lqmf.tools.store.records import Status


class SortKey(StrEnum):
    SPEED = "speed"
    SIZE = "size"
    QUALITY = "quality"
    DATE = "date"


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class SortSpec:
    column: str
    lower_is_more: bool   # True when a smaller number means "more" of the key (KLD for quality)
    default: Order
    unit: str


SORTS: dict[SortKey, SortSpec] = {  # column and unit: the metric's declaration (tools.metrics)
    SortKey.SPEED: SortSpec(Metric.GEN_TOK_S.value, False, Order.DESC, METRICS[Metric.GEN_TOK_S].unit),
    SortKey.SIZE: SortSpec(Metric.SIZE.value, False, Order.ASC, METRICS[Metric.SIZE].unit),
    SortKey.QUALITY: SortSpec(Metric.KLD_MEAN.value, True, Order.DESC, "KLD"),
    SortKey.DATE: SortSpec("created_at", False, Order.DESC, ""),
}


class Field(StrEnum):
    """Filterable slots (names as in copilot/parser/CONTRACT.md)."""
    TASK = "task"
    MAX_SIZE_GB = "max_size_gb"
    MIN_TOK_S = "min_tok_s"
    METHOD = "method"
    BITS = "bits"
    QUANT_TYPE = "quant_type"
    STATUS = "status"
    SINCE_DAYS = "since_days"
    MODEL = "model"


NUMERIC = {Field.MAX_SIZE_GB, Field.MIN_TOK_S, Field.SINCE_DAYS}


@dataclass(frozen=True)
class Filter:
    field: Field
    value: Any

    # --- translations ---
    def matches(self, record, now: float) -> bool:
        """Whether a record passes this filter (the Python twin of ``sql``)."""
        from lqmf.tools.store.schema import catalog_facts, tasks_of

        f, v = self.field, self.value
        if f is Field.TASK:
            return v in tasks_of(record)
        if f is Field.MAX_SIZE_GB:
            return record.size_bytes is not None and record.size_bytes <= int(v * 1e9)
        if f is Field.MIN_TOK_S:
            return record.gen_tok_s is not None and record.gen_tok_s >= float(v)
        if f is Field.SINCE_DAYS:
            return record.created_at >= now - v * 86400.0
        if f is Field.MODEL:
            key, entry = catalog_facts(record.model or "", record.model_name or "")
            if key in _model_keys(v):
                return True
            fam = _family_word(v)
            names = [key, record.family or (entry or {}).get("family"), record.architecture]
            return bool(fam) and any(n and n.replace("-", "").lower().startswith(fam) for n in names)
        have = getattr(record, f.value)
        return have in v if isinstance(v, tuple) else have == v

    def sql(self, now: float) -> tuple[str, list]:
        """This filter as a SQL condition on the side index."""
        f, v = self.field, self.value
        if f is Field.TASK:
            from lqmf.tools.store.schema import task_bit

            bit = task_bit(v)
            return ("task_mask & ? != 0", [bit]) if bit else ("task_tags LIKE ?", [f"%,{v},%"])
        if f is Field.MAX_SIZE_GB:
            return "size_bytes <= ?", [int(v * 1e9)]
        if f is Field.MIN_TOK_S:
            return "gen_tok_s >= ?", [float(v)]
        if f is Field.SINCE_DAYS:
            return "created_at >= ?", [now - v * 86400.0]
        if f is Field.MODEL:
            keys = _model_keys(v)
            cond = f"model_key IN ({','.join('?' * len(keys))})"
            fam = _family_word(v)
            if fam:  # "gemma": every model of the family, catalogued or not
                like = fam + "%"
                return (f"({cond} OR replace(model_key, '-', '') LIKE ? OR replace(family_tag, '-', '') LIKE ? "
                        "OR replace(architecture, '-', '') LIKE ?)", [*keys, like, like, like])
            return cond, keys
        if isinstance(v, tuple):
            return f"{f.value} IN ({','.join('?' * len(v))})", list(v)
        return f"{f.value} = ?", [v]

    def phrase(self) -> str:
        """Words for messages: 'under 2 GB', 'chat', 'failed'."""
        f, v = self.field, self.value
        if isinstance(v, tuple):
            return " or ".join(str(x) for x in v)
        return {
            Field.MAX_SIZE_GB: lambda: f"under {_num(v)} GB",
            Field.MIN_TOK_S: lambda: f"at {_num(v)}+ tok/s",
            Field.SINCE_DAYS: lambda: "from today" if v == 1 else f"from the last {v} days",
            Field.MODEL: lambda: f"of {v}",
            Field.BITS: lambda: f"{v}-bit",
            Field.METHOD: lambda: f"{v}",
            Field.TASK: lambda: f"{v}",
            Field.QUANT_TYPE: lambda: f"{v}",
            Field.STATUS: lambda: f"{v}",
        }[f]()


def _family_word(text: str) -> str | None:
    from lqmf.tools.store.schema import family_word

    return family_word(text)


def _model_keys(text: str) -> list[str]:
    from lqmf.tools.store.schema import model_keys_for

    return model_keys_for(text)


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass
class Query:
    filters: list[Filter] = field(default_factory=list)
    sort: SortKey | None = None
    order: Order | None = None
    limit: int | None = None
    text: str | None = None          # free-text remainder for semantic search

    def without(self, f: Filter) -> "Query":
        return Query([x for x in self.filters if x != f], self.sort, self.order, self.limit, self.text)

    def get(self, fld: Field) -> Any:
        return next((f.value for f in self.filters if f.field is fld), None)

    def effective_order(self) -> Order:
        if self.order:
            return self.order
        return SORTS[self.sort].default if self.sort else Order.DESC

    def sql(self, now: float | None = None) -> tuple[str, list]:
        now = time.time() if now is None else now
        parts, params = [], []
        for f in self.filters:
            s, p = f.sql(now)
            parts.append(s)
            params += p
        return " AND ".join(parts), params

    def order_sql(self) -> str:
        """ORDER BY clause: the sort column (NULLs last), newest first as tiebreak."""
        if not self.sort:
            return "created_at DESC"
        spec = SORTS[self.sort]
        desc = (self.effective_order() is Order.DESC) != spec.lower_is_more
        col = spec.column
        # each form walks one index of tools/store/index.SORTED and stops at the limit
        return f"{col} {'DESC' if desc else 'ASC'} NULLS LAST, created_at DESC"

    def matches(self, record, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return all(f.matches(record, now) for f in self.filters)

    def sort_records(self, records: list) -> list:
        """Python sort of records, same rules as order_sql."""
        def newest(r):
            return -(r.created_at or 0.0)
        if not self.sort:
            return sorted(records, key=newest)
        spec = SORTS[self.sort]
        desc = (self.effective_order() is Order.DESC) != spec.lower_is_more
        have = [r for r in records if getattr(r, spec.column) is not None]
        none = [r for r in records if getattr(r, spec.column) is None]
        have.sort(key=lambda r: (getattr(r, spec.column) * (-1 if desc else 1), newest(r)))
        return have + sorted(none, key=newest)

    def describe(self) -> str:
        """'failed chat runs under 2 GB from the last 7 days' (for messages)."""
        before = [Field.STATUS, Field.BITS, Field.QUANT_TYPE, Field.METHOD, Field.TASK]
        after = [Field.MODEL, Field.MAX_SIZE_GB, Field.MIN_TOK_S, Field.SINCE_DAYS]
        words = [f.phrase() for k in before for f in self.filters if f.field is k]
        words.append("runs")
        words += [f.phrase() for k in after for f in self.filters if f.field is k]
        if self.text:
            words.append(f'like "{self.text}"')
        return " ".join(words)

    def to_dict(self) -> dict:
        return {"filters": {f.field.value: f.value for f in self.filters},
                "sort": self.sort and self.sort.value, "order": self.effective_order().value,
                "limit": self.limit, "text": self.text}


# ---- building a query --------------------------------------------------------

def _positive(name: str, value: Any, kind: type) -> Any:
    try:
        v = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, not {value!r}") from None
    if isinstance(v, float) and not math.isfinite(v) or v < 0:
        raise InvalidInput(f"{name} must be a positive number, not {value!r}")
    return v


def from_slots(slots: dict, text: str | None = None) -> Query:
    """A Query from the parser's slots (unknown slots are ignored)."""
    from lqmf.tools.quantize.types import parse_method, parse_quant_type

    q = Query(text=(text or None))
    s = {k: v for k, v in slots.items() if v is not None and v != ""}
    if "task" in s:
        q.filters.append(Filter(Field.TASK, str(s["task"]).lower()))
    if "model" in s:
        q.filters.append(Filter(Field.MODEL, str(s["model"]).lower()))
    if "method" in s:
        q.filters.append(Filter(Field.METHOD, parse_method(str(s["method"])).value))
    if "quant_type" in s:
        q.filters.append(Filter(Field.QUANT_TYPE, parse_quant_type(str(s["quant_type"])).value))
    elif s.get("quant_types"):
        types = tuple(parse_quant_type(str(t)).value for t in s["quant_types"])
        q.filters.append(Filter(Field.QUANT_TYPE, types[0] if len(types) == 1 else types))
    if "bits" in s:
        q.filters.append(Filter(Field.BITS, _positive("bits", s["bits"], int)))
    if "status" in s:
        try:
            q.filters.append(Filter(Field.STATUS, Status(str(s["status"]).lower()).value))
        except ValueError:
            raise InvalidInput(f"unknown status {s['status']!r}",
                               f"use one of {', '.join(x.value for x in Status)}") from None
    if "max_size_gb" in s:
        q.filters.append(Filter(Field.MAX_SIZE_GB, _positive("max_size_gb", s["max_size_gb"], float)))
    if "min_tok_s" in s:
        q.filters.append(Filter(Field.MIN_TOK_S, _positive("min_tok_s", s["min_tok_s"], float)))
    if "since_days" in s:
        q.filters.append(Filter(Field.SINCE_DAYS, _positive("since_days", s["since_days"], int)))
    if "sort" in s:
        try:
            q.sort = SortKey(str(s["sort"]).lower())
        except ValueError:
            raise InvalidInput(f"unknown sort {s['sort']!r}",
                               f"use one of {', '.join(k.value for k in SortKey)}") from None
    if "order" in s:
        try:
            q.order = Order(str(s["order"]).lower())
        except ValueError:
            raise InvalidInput(f"unknown order {s['order']!r}", "use asc or desc") from None
    if "limit" in s:
        q.limit = max(1, _positive("limit", s["limit"], int))
    return q


# Words that carry no meaning of their own in a query over experiments.
_QUERY_WORDS = set("""
a an the of for with to in on at by and or that this these those it its is are was were be been
me my mine i we our us you your show list give find get display tell about any some please all every
which what where who whose how did do does have has had there their them they can could would
runs run experiments experiment models model results result quantizations quantization quants quant
benchmarks benchmark artifacts artifact one ones only just ever so far yet recently
last past week weeks days day today yesterday month months year hours ago since
top best worst fastest slowest smallest largest biggest newest latest oldest recent most least
under below less than over above more fewer at least most faster slower smaller bigger
gb mb kb tb gib mib tok tokens token per second seconds sec s t
sorted sort by order ordered rank ranked fast slow small large big speed size date
bit bits quantized
""".split())


def remainder(utterance: str, slots: dict) -> str | None:
    """The part of the utterance the slots do not explain, or None.

    Used as semantic search text ("runs where quality collapsed")."""
    from lqmf.tools.quantize.types import QuantMethod, quant_types

    known = set(_QUERY_WORDS)
    known |= {t.lower() for t in quant_types()} | {m.value for m in QuantMethod}
    known |= {s.value for s in Status} | {"succeed", "success", "successful", "fail", "failure",
                                          "failures", "cancel", "canceled", "queue", "queued"}
    known |= {"chat", "code", "coding", "creative", "writing", "math", "summarization",
              "summaries", "general", "bnb", "bitsandbytes", "llama.cpp", "llamacpp"}
    for v in slots.values():
        if isinstance(v, str):
            known |= set(re.findall(r"[a-z0-9_.\-/]+", v.lower()))
    words = re.findall(r"[a-z][a-z0-9_.\-']*", utterance.lower())
    content = [w for w in words if w not in known and not re.fullmatch(r"q\d.*|\d.*|int\d+|fp\d+", w)]
    if not content:
        return None
    return utterance.strip()
