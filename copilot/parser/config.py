"""Which parser ``parse()`` uses, and the LLM behind the ``llm``/``hybrid`` modes.

In ``data_dir()/config.toml``::

    parser = "builtin"          # builtin (default) | llm | hybrid   ([parser] mode = ... also works)

    [parser_llm]                # optional; all keys optional
    llm = "gguf"                # gguf (local, llama-cpp-python) | openai | ollama
    llm_model = ""              # gguf: a .gguf path (required: the bundled SmolLM2 is too small); endpoint: the model name
    llm_url = ""                # OpenAI-compatible / Ollama base URL
    hybrid_threshold = 0.5      # hybrid asks the LLM when the built-in confidence (a probability) is below

When ``[parser_llm] llm`` is absent, the copilot's ``[chat] llm`` settings are used if
they name one (``lqmf.copilot.llm.parser_config``). Every key, with its environment
override, is declared in ``lqmf.tools.settings.TABLE``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lqmf.copilot.llm import LlmConfig, Provider
from lqmf.tools.errors import InvalidInput


# The bundled SmolLM2-135M is not offered as the parser's LLM: on the dev set it gets
# intent ~0.2 at several seconds an utterance (evals/parse/README.md, "The LLM parser path").
BUNDLED_TOO_SMALL = ("the llm and hybrid parser modes need a model you choose: the bundled SmolLM2-135M is too small "
                     "to read requests (about 0.2 intent accuracy, against 0.97 for the built-in parser)")


class ParserMode(StrEnum):
    BUILTIN = "builtin"
    LLM = "llm"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class ParserSettings:
    mode: ParserMode = ParserMode.BUILTIN
    llm: LlmConfig = field(default_factory=lambda: LlmConfig(Provider.GGUF))
    hybrid_threshold: float = 0.5


def parse_mode(value: str) -> ParserMode:
    try:
        return ParserMode(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown parser mode '{value}'",
                           "use one of " + ", ".join(m.value for m in ParserMode)) from None


def load(config: Mapping | None = None, environ: Mapping[str, str] | None = None,
         mode: str | None = None) -> ParserSettings:
    """The parser's settings; ``mode`` (e.g. ``lqmf parse --mode``) replaces the configured one."""
    from lqmf.copilot.llm import parser_config
    from lqmf.tools.config import user_config
    from lqmf.tools.settings import get

    data = user_config() if config is None else config
    chosen = parse_mode(mode if mode is not None else str(get("parser.mode", config=data, environ=environ)))
    if chosen is ParserMode.BUILTIN:  # the LLM keys matter only to the other modes
        return ParserSettings(mode=chosen)
    llm = parser_config(data, environ)
    if llm.provider is Provider.NONE:
        raise InvalidInput("[parser_llm] llm = \"none\" leaves the llm parser without a model",
                           "name gguf, openai or ollama, or set parser = \"builtin\"")
    if llm.provider is Provider.GGUF and not llm.model:
        raise InvalidInput(BUNDLED_TOO_SMALL, "keep parser = \"builtin\" (the default), or name a larger local model "
                           "in [parser_llm] llm_model = \"/path/model.gguf\", or an endpoint "
                           "([parser_llm] llm = \"ollama\" or \"openai\")")
    threshold = float(get("parser_llm.hybrid_threshold", config=data, environ=environ))
    return ParserSettings(mode=chosen, llm=llm, hybrid_threshold=threshold)
