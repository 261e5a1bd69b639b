"""Understanding: one utterance -> ``{"intent", "slots"}`` (contracts/parse.md).

``parse(text, mode=None)``: ``builtin`` rules (default, no model), ``llm``
(a local GGUF or an endpoint, output constrained to the same schema and
validated, the rules' answer when the LLM's is invalid), or ``hybrid`` (the
rules, and the LLM only when their confidence is low). The mode comes from
``config.toml`` / ``LQMF_PARSER`` when not given. Never raises for odd text.
"""
from __future__ import annotations

from lqmf.copilot.parser.config import ParserMode, load, parse_mode

__all__ = ["parse", "ParserMode", "load", "parse_mode"]


def parse(text: str, mode: str | None = None) -> dict:
    from lqmf.copilot.parser import builtin

    settings = load() if mode is None or mode != ParserMode.BUILTIN else None
    if settings is None:  # builtin asked for by name: no config needed
        return builtin.parse(text)
    chosen = parse_mode(mode) if mode is not None else settings.mode
    rules = builtin.parse(text)
    if chosen is ParserMode.BUILTIN:
        return rules
    if chosen is ParserMode.HYBRID and rules["confidence"] >= settings.hybrid_threshold:
        return rules
    from lqmf.copilot.parser import llm

    return llm.parse(text, settings, fallback=rules)
