"""ExperimentRecord <-> Chroma metadata, and the sentence that gets embedded.

Chroma metadata holds scalars only, so a record is flattened: ``tasks``
becomes one boolean key per task (``task_chat=True``) plus a joined string,
``tool_versions`` a JSON string, and ``None`` values are left out. The whole
record is kept as JSON under ``record_json`` so it comes back exactly.

Task tags, family, license and parameter count come from the model catalog
(knowledge/catalog.toml) when the record lacks them; they are added to the
metadata (what queries filter on), never to the stored record itself.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import fields
from functools import lru_cache

from lqmf.tools.store.records import ExperimentRecord, Status

TASKS = ("chat", "code", "creative", "math", "summarization", "general")
RECORD_JSON = "record_json"
MAX_ERROR_CHARS = 2000

# Scalar record fields copied to metadata as they are (when not None).
SCALAR_FIELDS = [f.name for f in fields(ExperimentRecord)
                 if f.name not in ("tasks", "tool_versions", "id")]


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


def to_metadata(record: ExperimentRecord) -> dict:
    """Flat scalar metadata for Chroma (None values omitted)."""
    meta: dict = {}
    for name in SCALAR_FIELDS:
        value = getattr(record, name)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if isinstance(value, (bool, int, float, str)):
            meta[name] = value
        else:
            meta[name] = str(value)
    if record.error:
        meta["error"] = record.error[:MAX_ERROR_CHARS]
    key, entry = catalog_facts(record.model or "", record.model_name or "")
    meta["model_key"] = key
    if entry:
        meta.setdefault("family", entry.get("family"))
        meta.setdefault("license", entry.get("license"))
        if "n_params" not in meta and entry.get("params_b"):
            meta["n_params"] = int(entry["params_b"] * 1e9)
    tasks = tasks_of(record)
    meta["tasks"] = ",".join(tasks)
    for t in tasks:
        meta[f"task_{t}"] = True
    if record.size_bytes is not None:
        meta["size_gb"] = record.size_bytes / 1e9
    if record.tool_versions:
        meta["tool_versions"] = json.dumps(record.tool_versions, sort_keys=True)
    meta[RECORD_JSON] = json.dumps(record.to_dict(), default=str)
    return {k: v for k, v in meta.items() if v is not None}


def from_metadata(meta: dict) -> ExperimentRecord:
    """The exact record back (from the stored JSON)."""
    return ExperimentRecord.from_dict(json.loads(meta[RECORD_JSON]))


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
