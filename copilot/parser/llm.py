"""The optional LLM parser: the same output as the rules, from a model.

The model comes from the one LLM layer (``lqmf.copilot.llm``): a local GGUF
through llama-cpp-python with JSON-schema-constrained decoding (default: the
bundled SmolLM2), or an OpenAI-compatible / Ollama endpoint in JSON mode.
The prompt is ``prompts/parse.md``.
Whatever the model returns is checked by ``schema.validate``; an invalid or
failed answer gives the built-in result instead (marked with ``fallback``).
Heavy imports happen here only, on first use.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from lqmf.copilot.parser.config import ParserSettings
from lqmf.copilot.parser.schema import Intent, json_schema, validate

log = logging.getLogger(__name__)

Complete = Callable[[str], str]   # utterance -> raw JSON text


def prompt() -> str:
    from lqmf import prompts

    return (Path(prompts.__file__).resolve().parent / "parse.md").read_text(encoding="utf-8")


def llm_schema() -> dict:
    """The schema the decoder is held to: the intent enum and a flat object of slots.
    The full per-slot schema (``schema.json_schema()``) makes llama.cpp's grammar
    sampler several times slower on 2 cores; values are checked by ``validate`` after."""
    full = json_schema()
    slot_props = full["properties"]["slots"]["properties"]
    return {"type": "object",
            "properties": {"intent": {"type": "string", "enum": [i.value for i in Intent]},
                           "slots": {"type": "object",
                                     "properties": {k: {"type": ["string", "number", "array"]}
                                                    for k in slot_props}}},
            "required": ["intent", "slots"]}


@lru_cache(maxsize=1)
def _template() -> tuple[str, tuple[tuple[str, str], ...]]:
    """The prompt's instructions, and its ``utterance => json`` examples as chat turns
    (small instruct models follow turns far better than examples inside the system text)."""
    head, _, tail = prompt().partition("\nExamples:\n")
    pairs = (line.split(" => ", 1) for line in tail.splitlines() if " => " in line)
    shots = tuple((user.strip(), answer.strip()) for user, answer in pairs)
    return head.strip(), shots


def _messages(text: str) -> list[dict]:
    system, shots = _template()
    msgs = [{"role": "system", "content": system}]
    for user, answer in shots:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return msgs + [{"role": "user", "content": text[:1000]}]


def backend(s: ParserSettings) -> Complete:
    """The configured LLM as ``utterance -> raw JSON text`` (built by ``lqmf.copilot.llm.client``)."""
    from lqmf.copilot.llm import Purpose, client

    chat = client(s.llm, Purpose.PARSE, schema=llm_schema())
    return lambda text: chat(_messages(text))


def from_raw(raw: str) -> dict:
    """Validated parse from the model's raw text; raises ValueError when unusable."""
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    try:
        data = json.loads(raw[start:end + 1])
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg}") from None
    return validate(data)


def parse(text: str, settings: ParserSettings, *, fallback: dict,
          complete: Complete | None = None) -> dict:
    """The LLM's parse of ``text``; ``fallback`` (the rules' parse) when the LLM is
    unavailable or answers something that does not validate. ``complete`` replaces the
    configured backend (tests use a scripted one)."""
    name = f"llm:{settings.llm.provider.value}"
    try:
        run = complete or backend(settings)
    except Exception as e:  # noqa: BLE001 - missing package, bad path: the rules answer
        from lqmf.copilot.llm import warn_once

        warn_once(f"the parser LLM could not start, so the built-in parser answers: {e}")
        return {**fallback, "fallback": f"LLM unavailable: {type(e).__name__}"}
    try:
        result = from_raw(run(text))
    except Exception as e:  # noqa: BLE001 - bad JSON, schema violation, endpoint error
        return {**fallback, "fallback": f"LLM answer rejected: {str(e)[:120]}"}
    return {**result, "parser": name}
