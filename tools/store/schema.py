"""ExperimentRecord <-> side-index row, catalog facts, and the sentence that gets embedded.

A record is one row of the side index's ``runs`` table, whose columns are the
record fields that queries filter and sort on (``FILTER_FIELDS``), plus
derived columns: ``model_key``, ``family_tag``, ``task_tags`` and
``task_mask`` (from the model catalog, knowledge/catalog.toml, when the
record lacks them: what queries filter on, never written back to the record)
and ``desc_id`` (the description's id, always the last column). Every other field is kept, as compact JSON, in one
``rest`` cell beside it (``bodies`` table), so the record comes back exactly.
The description (``describe``) is what Chroma embeds; runs with the same
sentence share one vector.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import fields
from functools import lru_cache

from lqmf.tools.metrics import index_columns
from lqmf.tools.store.records import ExperimentRecord, Status

TASKS = ("chat", "code", "creative", "math", "summarization", "general")

# Record fields the side index has a column for (filters, sorts, compare): the
# categorical ones named here, and every measured figure the metric registry declares.
CATEGORICAL = ("kind", "status", "model", "model_name", "family", "architecture", "method",
               "quant_type", "bits", "device", "threads", "host", "artifact", "created_at", "gate_failed")
FILTER_FIELDS = (*CATEGORICAL, *(f for f in index_columns() if f not in CATEGORICAL))
DERIVED = {"model_key": "TEXT", "family_tag": "TEXT", "task_tags": "TEXT", "task_mask": "INTEGER",
           "desc_id": "TEXT"}
_FIELDS = {f.name: f for f in fields(ExperimentRecord)}
REST_FIELDS = tuple(n for n in _FIELDS if n not in FILTER_FIELDS and n != "id")
# Every record field was in the rest JSON unless it had a column: a column added later fills from it.
REST_FIELDS_BEFORE = frozenset(_FIELDS)


def _sql_type(annotation) -> str:
    text = str(annotation)
    return "INTEGER" if text.startswith("int") else "REAL" if text.startswith("float") else "TEXT"


# column -> SQL type, in the order rows are written
COLUMNS: dict[str, str] = {**{n: _sql_type(_FIELDS[n].type) for n in FILTER_FIELDS}, **DERIVED}


def _cell(value):
    if value is None or isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value
    return str(value)


def task_bit(task: str) -> int | None:
    """The bit of a task in ``task_mask`` (None for a task outside TASKS, which
    filters match on ``task_tags`` instead)."""
    return 1 << TASKS.index(task) if task in TASKS else None


def task_mask(tasks: list[str]) -> int:
    """The tasks of a run as bits (an integer the sort indexes carry, so a task
    filter is checked inside the index)."""
    return sum(1 << TASKS.index(t) for t in set(tasks) if t in TASKS)


def desc_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def to_row(record: ExperimentRecord) -> tuple[tuple, str, str]:
    """(runs row in COLUMNS order with the id first, the rest JSON, the description)."""
    key, entry = catalog_facts(record.model or "", record.model_name or "")
    text = describe(record)
    tasks = tasks_of(record)
    derived = {"model_key": key,
               "family_tag": record.family or (entry or {}).get("family"),
               "task_tags": "," + ",".join(tasks) + ",",   # LIKE '%,chat,%'
               "task_mask": task_mask(tasks),
               "desc_id": desc_id(text)}
    row = (record.id, *(_cell(getattr(record, n)) for n in FILTER_FIELDS),
           *(derived[n] for n in DERIVED))
    rest = {n: getattr(record, n) for n in REST_FIELDS}
    rest = {k: v for k, v in rest.items() if v is not None and v != [] and v != {}}
    return row, json.dumps(rest, separators=(",", ":"), default=str), text


ROW_NAMES = ("id", *FILTER_FIELDS)


def from_row(values: tuple, rest: str | None) -> ExperimentRecord:
    """The record back from ``ROW_NAMES`` values and its rest JSON."""
    kw = dict(zip(ROW_NAMES, values))
    if rest:
        kw.update(json.loads(rest))
    return ExperimentRecord(**{k: v for k, v in kw.items() if k in _FIELDS})


@lru_cache(maxsize=4096)
def catalog_facts(model: str, model_name: str = "") -> tuple[str, dict | None]:
    """(model_key, catalog entry or None) for a record's model reference.

    model_key is the catalog's short name when the model is known (``smollm``,
    ``HuggingFaceTB/SmolLM2-135M-Instruct`` -> ``smollm2``), else a slug."""
    from lqmf.tools.models import catalog_entry, slug

    candidates = [model, model_name, os.path.basename(model.rstrip("/")) if model else ""]
    for cand in candidates:
        if not cand:
            continue
        entry = catalog_entry(cand)
        if entry is None and cand.lower().endswith(".gguf"):
            entry = catalog_entry(cand[:-5])
        if entry is not None:
            return entry["name"], entry
    base = model_name or os.path.basename(model.rstrip("/")) or model
    return slug(base), None


def family_word(text: str) -> str | None:
    """A bare family name ("gemma", "llama", "Qwen") with no size or version, else None."""
    import re

    word = re.sub(r"[^a-z]", "", text.lower())
    return word if word and len(word) >= 3 and re.fullmatch(r"[a-z][a-z \-]*", text.strip().lower()) else None


def model_keys_for(text: str) -> list[str]:
    """The model_key values a user's model name may match (for filters). A bare
    family name ("gemma") matches every catalog model of that family."""
    from lqmf import knowledge
    from lqmf.tools.models import slug

    key, entry = catalog_facts(text.strip(), "")
    keys = [key]
    if entry is None:
        s = slug(text)
        if s not in keys:
            keys.append(s)
    fam = family_word(text)
    if fam:
        for e in knowledge.catalog():
            names = [e["name"], str(e.get("family") or "")]
            if any(n.replace("-", "").lower().startswith(fam) for n in names) and e["name"] not in keys:
                keys.append(e["name"])
    return keys


def tasks_of(record: ExperimentRecord) -> list[str]:
    if record.tasks:
        return [t.lower() for t in record.tasks]
    _, entry = catalog_facts(record.model or "", record.model_name or "")
    return list(entry.get("tasks", [])) if entry else []


# ---- the embedded description ---------------------------------------------

def _sig(x: float, digits: int = 2) -> str:
    """Two significant digits: 96.4 -> '96', 0.0623 -> '0.062', 1234 -> '1200'."""
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    value = round(x, -mag + digits - 1)
    if value >= 10 ** (digits - 1):
        return f"{value:.0f}"
    return f"{value:.{max(0, -mag + digits - 1)}f}"


def speed_band(tok_s: float) -> str:
    for limit, words in ((3, "very slow"), (10, "slow"), (40, "usable speed"), (100, "fast")):
        if tok_s < limit:
            return words
    return "very fast"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{_sig(n / scale)} {unit}"
    return f"{n} B"


def quality_band(kld: float | None, ppl_delta_pct: float | None) -> str | None:
    """Words for how much quality a quantization kept (llama.cpp's KLD scale)."""
    if kld is not None:
        for limit, words in ((0.01, "nearly lossless"), (0.1, "quality kept"),
                             (0.3, "some quality loss"), (1.0, "heavy quality loss")):
            if kld < limit:
                return words
        return "quality collapsed"
    if ppl_delta_pct is not None:
        for limit, words in ((1, "nearly lossless"), (5, "quality kept"),
                             (15, "some quality loss"), (50, "heavy quality loss")):
            if ppl_delta_pct < limit:
                return words
        return "quality collapsed"
    return None


def describe(record: ExperimentRecord) -> str:
    """One short English sentence about the run: the document Chroma embeds."""
    key, _ = catalog_facts(record.model or "", record.model_name or "")
    what = key
    if record.quant_type:
        what += f" {record.quant_type}"
    if record.method:
        what += f" {record.method}"
    tasks = tasks_of(record)
    task_text = f" [{', '.join(tasks)}]" if tasks else ""
    if record.status == Status.FAILED:
        err = (record.error or "unknown error").strip().splitlines()[0][:200]
        return f"{record.kind} of {what}{task_text} failed: {err}"
    if record.status != Status.SUCCEEDED:
        return f"{record.kind} of {what}{task_text} is {record.status}"
    parts = []
    if record.size_bytes is not None:
        parts.append(_size(record.size_bytes))
    if record.gen_tok_s is not None:
        # a word, not the figure: runs of one artifact differ in speed, and a
        # sentence that stays the same is embedded once (the figure is metadata)
        parts.append(speed_band(record.gen_tok_s))
    if record.kld_mean is not None:
        parts.append(f"KLD {_sig(record.kld_mean)}")
    elif record.ppl_delta_pct is not None:
        parts.append(f"perplexity +{_sig(record.ppl_delta_pct)}%")
    band = quality_band(record.kld_mean, record.ppl_delta_pct)
    if band:
        parts.append(band)
    verb = "quantized" if record.kind == "quantize" else "benchmarked"
    return f"{what}{task_text} {verb}" + (": " + ", ".join(parts) if parts else "")
