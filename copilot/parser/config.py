"""Which parser ``parse()`` uses, and the LLM behind the ``llm``/``hybrid`` modes.

In ``data_dir()/config.toml``::

    parser = "builtin"          # builtin (default) | llm | hybrid

    [parser_llm]                # optional; all keys optional
    llm = "gguf"                # gguf (local, llama-cpp-python) | openai | ollama
    llm_model = ""              # gguf: a .gguf path (default: the bundled SmolLM2);
                                # endpoint: the model name
    llm_url = ""                # OpenAI-compatible / Ollama base URL
    hybrid_threshold = 0.5      # hybrid asks the LLM when the built-in confidence (a probability) is below

(``[parser] mode = "hybrid"`` is accepted instead of the top-level key.)
When ``[parser_llm] llm`` is absent, the copilot's ``[chat] llm`` settings are used if
they name one. Environment overrides: ``LQMF_PARSER`` (the mode),
``LQMF_PARSER_LLM``, ``LQMF_PARSER_LLM_MODEL``, ``LQMF_PARSER_LLM_URL``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from lqmf.tools.errors import InvalidInput


class ParserMode(StrEnum):
    BUILTIN = "builtin"
    LLM = "llm"
    HYBRID = "hybrid"


class LlmProvider(StrEnum):
    GGUF = "gguf"
    OPENAI = "openai"
    OLLAMA = "ollama"


@dataclass(frozen=True)
class ParserSettings:
    mode: ParserMode = ParserMode.BUILTIN
    llm: LlmProvider = LlmProvider.GGUF
    llm_model: str = ""
    llm_url: str = ""
    hybrid_threshold: float = 0.5


def parse_mode(value: str) -> ParserMode:
    try:
        return ParserMode(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown parser mode '{value}'",
                           "use one of " + ", ".join(m.value for m in ParserMode)) from None


def load() -> ParserSettings:
    from lqmf.tools.config import user_config

    data = user_config()
    table = data.get("parser") if isinstance(data.get("parser"), dict) else {}
    section = data.get("parser_llm") if isinstance(data.get("parser_llm"), dict) else {}
    chat = data.get("chat") if isinstance(data.get("chat"), dict) else {}
    mode = data.get("parser") if isinstance(data.get("parser"), str) else table.get("mode", "builtin")
    llm, model, url = section.get("llm"), section.get("llm_model", ""), section.get("llm_url", "")
    if not llm and str(chat.get("llm", "none")).lower() in {p.value for p in LlmProvider}:
        llm, model, url = chat["llm"], chat.get("llm_model", ""), chat.get("llm_url", "")
    env = os.environ
    llm = str(env.get("LQMF_PARSER_LLM", llm or "gguf")).strip().lower()
    try:
        provider = LlmProvider(llm)
    except ValueError:
        raise InvalidInput(f"unknown parser LLM '{llm}'",
                           "use one of " + ", ".join(p.value for p in LlmProvider)) from None
    try:
        threshold = float(section.get("hybrid_threshold", 0.5))
    except (TypeError, ValueError):
        raise InvalidInput("[parser_llm] hybrid_threshold must be a number", "e.g. hybrid_threshold = 0.5") from None
    return ParserSettings(
        mode=parse_mode(env.get("LQMF_PARSER", mode)),
        llm=provider,
        llm_model=str(env.get("LQMF_PARSER_LLM_MODEL", model or "")),
        llm_url=str(env.get("LQMF_PARSER_LLM_URL", url or "")),
        hybrid_threshold=threshold,
    )
