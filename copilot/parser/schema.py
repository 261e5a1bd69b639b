"""The parser's output: intents, slots, their canonical values, and validation.

This is ``CONTRACT.md`` (next to this file) as code. Every parser (built-in or LLM) returns
``{"intent": ..., "slots": {...}}``; :func:`validate` turns any candidate dict
into that shape or raises ``ValueError``; :func:`json_schema` is the JSON
schema handed to constrained LLM decoding.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any


class Intent(StrEnum):
    QUANTIZE = "quantize"
    TUNE = "tune"
    BENCHMARK = "benchmark"
    COMPARE = "compare"
    QUERY = "query"
    RECOMMEND = "recommend"
    JOBS = "jobs"
    CANCEL = "cancel"
    EXPLAIN = "explain"
    TUTORIAL = "tutorial"
    HELP = "help"
    UNKNOWN = "unknown"


class Slot(StrEnum):
    MODEL = "model"
    METHOD = "method"
    QUANT_TYPE = "quant_type"
    QUANT_TYPES = "quant_types"
    METHODS = "methods"
    BITS = "bits"
    DEVICE = "device"
    TASK = "task"
    MAX_SIZE_GB = "max_size_gb"
    VRAM_GB = "vram_gb"
    RAM_GB = "ram_gb"
    MIN_TOK_S = "min_tok_s"
    MAX_KLD = "max_kld"
    MAX_PPL_DELTA_PCT = "max_ppl_delta_pct"
    SORT = "sort"
    ORDER = "order"
    LIMIT = "limit"
    STATUS = "status"
    SINCE_DAYS = "since_days"
    PRIORITY = "priority"
    JOB_ID = "job_id"
    TOPIC = "topic"


METHODS = ("gguf", "bnb", "gptq", "awq")
QUANT_TYPES = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
               "Q6_K", "Q3_K_M", "Q3_K_S", "Q3_K_L", "Q2_K", "IQ4_XS", "IQ4_NL", "F16",
               "NF4", "FP4", "INT8")
BITS = (2, 3, 4, 5, 6, 8, 16)
DEVICES = ("cpu", "gpu", "edge")
TASKS = ("chat", "code", "creative", "math", "summarization", "general")
SORTS = ("speed", "size", "quality", "date")
ORDERS = ("asc", "desc")
STATUSES = ("succeeded", "failed", "running", "queued", "cancelled")
PRIORITIES = ("high", "normal", "low")

# slot -> (python type, allowed values or None)
SLOT_TYPES: dict[Slot, tuple[type, tuple | None]] = {
    Slot.MODEL: (str, None), Slot.METHOD: (str, METHODS), Slot.QUANT_TYPE: (str, QUANT_TYPES),
    Slot.QUANT_TYPES: (list, QUANT_TYPES), Slot.METHODS: (list, METHODS), Slot.BITS: (int, BITS),
    Slot.DEVICE: (str, DEVICES), Slot.TASK: (str, TASKS), Slot.MAX_SIZE_GB: (float, None),
    Slot.VRAM_GB: (float, None), Slot.RAM_GB: (float, None), Slot.MIN_TOK_S: (float, None),
    Slot.MAX_KLD: (float, None), Slot.MAX_PPL_DELTA_PCT: (float, None), Slot.SORT: (str, SORTS),
    Slot.ORDER: (str, ORDERS), Slot.LIMIT: (int, None), Slot.STATUS: (str, STATUSES),
    Slot.SINCE_DAYS: (int, None), Slot.PRIORITY: (str, PRIORITIES), Slot.JOB_ID: (str, None),
    Slot.TOPIC: (str, None),
}

S = Slot
# The slots that make sense for each intent; others found in the text are dropped.
ALLOWED: dict[Intent, frozenset[Slot]] = {
    Intent.QUANTIZE: frozenset({S.MODEL, S.METHOD, S.QUANT_TYPE, S.QUANT_TYPES, S.BITS, S.DEVICE,
                                S.PRIORITY}),
    Intent.TUNE: frozenset({S.MODEL, S.METHOD, S.MAX_KLD, S.MAX_PPL_DELTA_PCT, S.MAX_SIZE_GB,
                            S.DEVICE, S.BITS}),
    Intent.BENCHMARK: frozenset({S.MODEL, S.QUANT_TYPE, S.QUANT_TYPES, S.METHOD, S.BITS, S.DEVICE}),
    Intent.COMPARE: frozenset({S.MODEL, S.QUANT_TYPES, S.METHODS, S.DEVICE}),
    Intent.QUERY: frozenset({S.TASK, S.MAX_SIZE_GB, S.MIN_TOK_S, S.METHOD, S.BITS, S.QUANT_TYPE,
                             S.QUANT_TYPES, S.STATUS, S.SORT, S.ORDER, S.LIMIT, S.SINCE_DAYS,
                             S.MODEL, S.DEVICE}),
    Intent.RECOMMEND: frozenset({S.TASK, S.VRAM_GB, S.RAM_GB, S.DEVICE, S.MAX_SIZE_GB, S.MODEL,
                                 S.METHOD, S.MIN_TOK_S}),
    Intent.JOBS: frozenset({S.STATUS, S.JOB_ID}),
    Intent.CANCEL: frozenset({S.JOB_ID}),
    Intent.EXPLAIN: frozenset({S.TOPIC}),
    Intent.TUTORIAL: frozenset({S.TOPIC}),
    Intent.HELP: frozenset(),
    Intent.UNKNOWN: frozenset(),
}


def _number(value: Any, kind: type) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {value!r}")
    num = float(value)
    if num != num or num < 0 or num in (float("inf"),):
        raise ValueError(f"not a usable number: {value!r}")
    if kind is int:
        if num != int(num):
            raise ValueError(f"not an integer: {value!r}")
        return int(num)
    return int(num) if num == int(num) else num


def _value(slot: Slot, value: Any) -> Any:
    kind, allowed = SLOT_TYPES[slot]
    if kind is list:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{slot} must be a non-empty list")
        items = [_canon(slot, v, allowed) for v in value]
        return list(dict.fromkeys(items))
    if kind in (int, float):
        num = _number(value, kind)
        if allowed is not None and num not in allowed:
            raise ValueError(f"{slot} must be one of {allowed}")
        return num
    return _canon(slot, value, allowed)


def _canon(slot: Slot, value: Any, allowed: tuple | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{slot} must be a non-empty string")
    text = value.strip()
    if slot in (Slot.QUANT_TYPE, Slot.QUANT_TYPES):
        text = text.upper().replace("-", "_")
    elif slot is not Slot.JOB_ID:
        text = text.lower()
    if allowed is not None and text not in allowed:
        raise ValueError(f"{slot} must be one of {allowed}, not {value!r}")
    return text


def validate(candidate: Any, *, strict_slots: bool = False) -> dict:
    """``{"intent", "slots"}`` with canonical values; raises ValueError when the
    intent is unknown to the contract or a slot value is malformed. Slots that do
    not belong to the intent are dropped unless ``strict_slots`` (then: error)."""
    if not isinstance(candidate, dict):
        raise ValueError("the parse must be a JSON object")
    try:
        intent = Intent(str(candidate.get("intent", "")).strip().lower())
    except ValueError:
        raise ValueError(f"unknown intent {candidate.get('intent')!r}") from None
    raw = candidate.get("slots") or {}
    if not isinstance(raw, dict):
        raise ValueError("slots must be an object")
    slots: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or value == "" or value == []:
            continue
        try:
            slot = Slot(key)
        except ValueError:
            raise ValueError(f"unknown slot {key!r}") from None
        if slot not in ALLOWED[intent]:
            if strict_slots:
                raise ValueError(f"slot {key!r} does not belong to intent {intent}")
            continue
        slots[slot.value] = _value(slot, value)
    return {"intent": intent.value, "slots": slots}


def json_schema() -> dict:
    """JSON schema of a parse, for constrained decoding."""
    props: dict[str, Any] = {}
    for slot, (kind, allowed) in SLOT_TYPES.items():
        if kind is list:
            props[slot.value] = {"type": "array", "items": {"type": "string", "enum": list(allowed or ())}}
        elif kind is int:
            props[slot.value] = {"type": "integer"} if allowed is None else {"type": "integer", "enum": list(allowed)}
        elif kind is float:
            props[slot.value] = {"type": "number"}
        else:
            props[slot.value] = {"type": "string"} if allowed is None else {"type": "string", "enum": list(allowed)}
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": [i.value for i in Intent]},
            "slots": {"type": "object", "properties": props, "additionalProperties": False},
        },
        "required": ["intent", "slots"],
        "additionalProperties": False,
    }
