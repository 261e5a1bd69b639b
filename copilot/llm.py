"""The optional LLM for free-form replies: a local GGUF through
llama-cpp-python, or an OpenAI-compatible / Ollama endpoint through LangChain,
chosen by ``[chat] llm`` in config.toml. Without one every task still works.
Imports are lazy; a provider that cannot start is reported once and skipped."""
from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache

from lqmf.copilot.settings import Settings, load

log = logging.getLogger(__name__)

SYSTEM = ("You are LQMF Copilot, a concise assistant for quantizing and benchmarking local LLMs. "
          "Answer in at most three sentences. You cannot run tools from a free-form reply; suggest the "
          "user's next command instead (e.g. 'quantize smollm2 to Q4_K_M', 'benchmark it').")

Reply = Callable[[str, list[dict]], str]


class LlmKind(StrEnum):
    NONE = "none"
    GGUF = "gguf"
    OPENAI = "openai"
    OLLAMA = "ollama"


def _messages(text: str, history: list[dict]) -> list[dict]:
    msgs = [{"role": "system", "content": SYSTEM}]
    for h in history[-6:]:
        msgs.append({"role": "user" if h["role"] == "user" else "assistant", "content": h["text"][:800]})
    return msgs + [{"role": "user", "content": text[:2000]}]


def _gguf(s: Settings) -> Reply:
    from llama_cpp import Llama

    model = Llama(model_path=s.llm_model, n_ctx=2048, verbose=False)
    return lambda text, history: model.create_chat_completion(
        _messages(text, history), max_tokens=160, temperature=0.2)["choices"][0]["message"]["content"].strip()


def _langchain(s: Settings, kind: LlmKind) -> Reply:
    if kind is LlmKind.OLLAMA:
        from langchain_ollama import ChatOllama

        chat = ChatOllama(model=s.llm_model, base_url=s.llm_url or "http://127.0.0.1:11434")
    else:
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(model=s.llm_model, base_url=s.llm_url or None, api_key="unused", max_tokens=200)
    return lambda text, history: str(chat.invoke(
        [(m["role"], m["content"]) for m in _messages(text, history)]).content).strip()


PROVIDERS: dict[LlmKind, Callable[[Settings], Reply]] = {
    LlmKind.GGUF: _gguf,
    LlmKind.OPENAI: lambda s: _langchain(s, LlmKind.OPENAI),
    LlmKind.OLLAMA: lambda s: _langchain(s, LlmKind.OLLAMA),
}


@lru_cache(maxsize=1)
def provider() -> Reply | None:
    s = load()
    try:
        kind = LlmKind(s.llm)
    except ValueError:
        log.warning("unknown [chat] llm '%s'; use one of %s", s.llm, ", ".join(k.value for k in LlmKind))
        return None
    if kind is LlmKind.NONE:
        return None
    try:
        return PROVIDERS[kind](s)
    except Exception as e:  # missing package, bad path, endpoint down: the copilot goes on without
        log.warning("the %s LLM could not start (%s); answering without it", kind.value, e)
        return None


def reply(text: str, history: list[dict]) -> str | None:
    """A free-form answer, or None when no LLM is configured (or it failed)."""
    fn = provider()
    if fn is None:
        return None
    try:
        return fn(text, history) or None
    except Exception as e:
        log.warning("the LLM failed (%s)", e)
        return None
