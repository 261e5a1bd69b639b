"""The optional LLM parser: the same output as the rules, from a model.

Backends: a local GGUF through llama-cpp-python with JSON-schema-constrained
decoding (default: the bundled SmolLM2), or an OpenAI-compatible / Ollama
endpoint through LangChain chat models. The prompt is ``prompts/parse.md``.
Whatever the model returns is checked by ``schema.validate``; an invalid or
failed answer gives the built-in result instead (marked with ``fallback``).
Heavy imports happen here only, on first use.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from lqmf.copilot.parser.config import LlmProvider, ParserSettings
from lqmf.copilot.parser.schema import Intent, json_schema, validate

log = logging.getLogger(__name__)

Complete = Callable[[str], str]   # utterance -> raw JSON text
_LOCK = threading.Lock()          # llama.cpp contexts are not thread-safe


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
    shots = tuple(tuple(p.strip() for p in line.split(" => ", 1))
                  for line in tail.splitlines() if " => " in line)
    return head.strip(), shots


def _messages(text: str) -> list[dict]:
    system, shots = _template()
    msgs = [{"role": "system", "content": system}]
    for user, answer in shots:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return msgs + [{"role": "user", "content": text[:1000]}]


def _gguf(s: ParserSettings) -> Complete:
    from llama_cpp import Llama

    from lqmf.tools.config import threads

    path = s.llm_model
    if not path:
        from lqmf.tools.models import resolve

        path = str(resolve("smollm2").path)
    model = Llama(model_path=path, n_ctx=2048, n_threads=threads(), verbose=False, seed=0)
    fmt = {"type": "json_object", "schema": llm_schema()}

    def complete(text: str) -> str:
        with _LOCK:
            out = model.create_chat_completion(_messages(text), response_format=fmt, temperature=0.0,
                                               max_tokens=160)
        return out["choices"][0]["message"]["content"] or ""
    return complete


def _langchain(s: ParserSettings) -> Complete:
    if s.llm is LlmProvider.OLLAMA:
        from langchain_ollama import ChatOllama

        chat = ChatOllama(model=s.llm_model, base_url=s.llm_url or "http://127.0.0.1:11434",
                          temperature=0, format="json")
    else:
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(model=s.llm_model, base_url=s.llm_url or None, api_key="unused", temperature=0,
                          max_tokens=200, model_kwargs={"response_format": {"type": "json_object"}})

    def complete(text: str) -> str:
        msgs = [(m["role"], m["content"]) for m in _messages(text)]
        return str(chat.invoke(msgs).content)
    return complete


BACKENDS: dict[LlmProvider, Callable[[ParserSettings], Complete]] = {
    LlmProvider.GGUF: _gguf,
    LlmProvider.OPENAI: _langchain,
    LlmProvider.OLLAMA: _langchain,
}


@lru_cache(maxsize=2)
def backend(s: ParserSettings) -> Complete:
    return BACKENDS[s.llm](s)


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
    name = f"llm:{settings.llm.value}"
    try:
        run = complete or backend(settings)
    except Exception as e:  # noqa: BLE001 - missing package, bad path: the rules answer
        log.warning("the parser LLM could not start (%s); using the built-in parser", e)
        return {**fallback, "fallback": f"LLM unavailable: {type(e).__name__}"}
    try:
        result = from_raw(run(text))
    except Exception as e:  # noqa: BLE001 - bad JSON, schema violation, endpoint error
        return {**fallback, "fallback": f"LLM answer rejected: {str(e)[:120]}"}
    return {**result, "parser": name}
