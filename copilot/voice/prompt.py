"""The initial prompt that biases Whisper to the copilot's words: the verbs,
quant type names, methods and model names (the catalog's and the store's).
Plain decoding writes "quantize" as "quantise it", "Q4_K_M" as "Q4 KM", etc.;
named here, Whisper spells them as the parser reads them."""
from __future__ import annotations

from collections.abc import Iterable

MAX_CHARS = 600   # Whisper keeps the last 223 tokens of a prompt; this stays well under

VERBS = "Quantize, benchmark, compare, explain, cancel job, show the queue, tutorial."
METHOD_WORDS = "GGUF, bitsandbytes, GPTQ, AWQ, NF4, 4-bit, 8-bit, KL divergence, perplexity, tokens per second"


def quant_types() -> list[str]:
    from copilot.parser.schema import QUANT_TYPES

    return [q for q in QUANT_TYPES if q not in ("NF4", "FP4", "INT8")]


def catalog_models() -> list[str]:
    import knowledge

    return [e["name"] for e in knowledge.catalog()]


def domain_prompt(extra_models: Iterable[str] = ()) -> str:
    """One prompt: the domain words, the catalog models first, then the store's."""
    models = list(dict.fromkeys([*catalog_models(), *(m for m in extra_models if m)]))
    head = f"LQMF copilot commands. {VERBS} Types: {', '.join(quant_types())}. {METHOD_WORDS}. Models: "
    text = head
    for m in models:
        if len(text) + len(m) + 2 > MAX_CHARS:
            break
        text += m + ", "
    return text.rstrip(", ") + "."


def store_models() -> list[str]:
    """Model names in the experiment store (none when it cannot be opened: the prompt does without)."""
    try:
        from copilot import backends

        return sorted({r.get("model_name") or r.get("model") or "" for r in backends.records()} - {""})
    except Exception:  # noqa: BLE001 - a prompt hint is never worth a failure
        return []
