"""Understanding: one utterance -> ``{"intent", "slots"}`` (the contract: CONTRACT.md here).

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

    settings = load(mode=mode) if mode is None or parse_mode(mode) is not ParserMode.BUILTIN else None
    rules = builtin.parse(text)
    if settings is None or settings.mode is ParserMode.BUILTIN:
        return rules
    if settings.mode is ParserMode.HYBRID and rules["confidence"] >= settings.hybrid_threshold:
        return rules
    from lqmf.copilot.parser import llm

    return llm.parse(text, settings, fallback=rules)
