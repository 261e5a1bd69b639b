"""A GPTQ checkpoint lqmf did not make (GPTQModel's, auto-gptq's, one from the
hub's cache) as a benchmark input: an HF folder whose config.json has a
``quantization_config`` with ``quant_method`` "gptq". transformers loads it
(with optimum and GPTQModel's kernels) as it loads ours; what the folder says
of its quantization (bits, group size, desc_act, format, quantizer) becomes
the record's facts. It has no F16 of ours, so KLD needs ``--base``.

auto-gptq wrote its settings to ``quantize_config.json`` only; transformers
cannot load such a folder as GPTQ, so it is refused with that fix."""
from __future__ import annotations

import json
from pathlib import Path

from lqmf.tools.errors import InvalidInput

BITS = (2, 3, 4, 8)           # the GPTQ types declared by backends/gptq.py: GPTQ_{bits}BIT


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def quant_config(folder: Path) -> dict:
    qc = _json(folder / "config.json").get("quantization_config")
    return qc if isinstance(qc, dict) else {}


def foreign_gptq(folder: Path) -> bool:
    """A folder that declares itself GPTQ (config.json, or auto-gptq's quantize_config.json alone)."""
    if not folder.is_dir():
        return False
    if str(quant_config(folder).get("quant_method", "")).lower() == "gptq":
        return True
    return (folder / "quantize_config.json").is_file() and not quant_config(folder)


def gptq_facts(folder: Path) -> dict:
    """The checkpoint's quant type and settings, or one sentence saying why it cannot be benchmarked."""
    qc = quant_config(folder)
    if not qc:
        raise InvalidInput(f"{folder.name} has auto-gptq's quantize_config.json but no quantization_config in its "
                           "config.json, so transformers cannot load it as GPTQ",
                           'copy quantize_config.json into config.json as "quantization_config" with '
                           '"quant_method": "gptq"')
    bits = qc.get("bits")
    if not isinstance(bits, int) or isinstance(bits, bool) or bits not in BITS:
        raise InvalidInput(f"{folder.name} is a GPTQ checkpoint of {bits!r} bits; lqmf benchmarks "
                           f"{', '.join(map(str, BITS))}-bit GPTQ", "benchmark a 2, 3, 4 or 8-bit checkpoint")
    group = qc.get("group_size")
    meta = qc.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    recipe = {"group_size": str(group)} if isinstance(group, int) and not isinstance(group, bool) else {}
    if isinstance(qc.get("desc_act"), bool):
        recipe["desc_act"] = "true" if qc["desc_act"] else "false"
    quantizer = meta.get("quantizer")
    return {"quant_type": f"GPTQ_{bits}BIT", "method": "gptq", "source": str(folder), "source_name": folder.name,
            "recipe": recipe, "checkpoint": {"format": qc.get("checkpoint_format") or qc.get("format") or "gptq",
                                             "sym": qc.get("sym"), "quantizer": quantizer}}
