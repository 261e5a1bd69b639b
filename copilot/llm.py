"""The one LLM layer: which providers exist, how one is configured, and the one
place that builds a client, for the chat's free-form replies and for the LLM
parser alike.

Providers: a local GGUF through llama-cpp-python, or an OpenAI-compatible /
Ollama endpoint through LangChain chat models (``pip install 'lqmf[llm]'``).
The chat reads ``[chat] llm``, ``llm_model``, ``llm_url``; the parser reads
``[parser_llm]`` and falls back to ``[chat]`` (keys declared in
``lqmf.tools.settings``). Without an LLM every task still works. Imports are
lazy; a provider that cannot start is one sentence with the fix, said once.

Nothing here needs resetting between tests: ``provider(config)`` and
``client(config, purpose)`` take their configuration as an argument, and
what they build is kept per configuration value.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from lqmf.tools.errors import LlmUnavailable, LqmfError, MissingComponent

log = logging.getLogger(__name__)

SYSTEM = ("You are LQMF Copilot, a concise assistant for quantizing and benchmarking local LLMs. "
          "Answer in at most three sentences. You cannot run tools from a free-form reply; suggest the "
          "user's next command instead (e.g. 'quantize smollm2 to Q4_K_M', 'benchmark it').")


class Provider(StrEnum):
    NONE = "none"
    GGUF = "gguf"
    OPENAI = "openai"
    OLLAMA = "ollama"


class Purpose(StrEnum):
    REPLY = "reply"   # free-form text, a few sentences
    PARSE = "parse"   # one JSON object, held to the parser's schema where the provider can


@dataclass(frozen=True)
class LlmConfig:
    provider: Provider = Provider.NONE
    model: str = ""   # gguf: a .gguf path (empty: the bundled SmolLM2); endpoint: the model name
    url: str = ""     # endpoint base URL (empty: the provider's usual local one)


Chat = Callable[[list[dict]], str]          # chat messages -> the model's text
Reply = Callable[[str, list[dict]], str]    # (utterance, history) -> a free-form answer

DEFAULT_URL = {Provider.OLLAMA: "http://127.0.0.1:11434", Provider.OPENAI: "https://api.openai.com/v1"}
START_HINT = {Provider.OLLAMA: "start it with `ollama serve`",
              Provider.OPENAI: "start the server (e.g. `python -m llama_cpp.server --model X.gguf`)"}
PACKAGE = {Provider.OPENAI: "langchain-openai", Provider.OLLAMA: "langchain-ollama"}


def _provider(value: str, where: str) -> Provider:
    try:
        return Provider(str(value).strip().lower())
    except ValueError:
        from lqmf.tools.errors import InvalidInput

        raise InvalidInput(f"unknown LLM '{value}' in {where}",
                           "use one of " + ", ".join(p.value for p in Provider)) from None


def chat_config(config: Mapping | None = None, environ: Mapping[str, str] | None = None) -> LlmConfig:
    """The chat's LLM from ``[chat]`` (``config``/``environ`` stand in for the file and environment)."""
    from lqmf.tools.config import user_config
    from lqmf.tools.settings import get, where

    data = user_config() if config is None else config
    kw = {"config": data, "environ": environ}
    return LlmConfig(_provider(str(get("chat.llm", **kw)), where("chat.llm")),
                     str(get("chat.llm_model", **kw)), str(get("chat.llm_url", **kw)))


def parser_config(config: Mapping | None = None, environ: Mapping[str, str] | None = None) -> LlmConfig:
    """The parser's LLM: ``[parser_llm]``, else ``[chat]`` when that names one, else the local GGUF."""
    from lqmf.tools.config import user_config
    from lqmf.tools.settings import get, where

    data = user_config() if config is None else config
    kw = {"config": data, "environ": environ}
    own = str(get("parser_llm.llm", **kw))
    if own:
        return LlmConfig(_provider(own, where("parser_llm.llm")),
                         str(get("parser_llm.llm_model", **kw)), str(get("parser_llm.llm_url", **kw)))
    chat = chat_config(data, environ)
    if chat.provider is not Provider.NONE:
        return chat
    return LlmConfig(Provider.GGUF, str(get("parser_llm.llm_model", **kw)), str(get("parser_llm.llm_url", **kw)))


# ---- building a client ---------------------------------------------------------------
_LOCK = threading.Lock()                  # llama.cpp contexts are not thread-safe
_GGUF: dict[str, object] = {}             # one loaded model per path, shared by every purpose
_BUILT: dict[tuple[LlmConfig, Purpose], Chat | LqmfError] = {}


def _gguf(cfg: LlmConfig, purpose: Purpose, schema: dict | None) -> Chat:
    from lqmf.tools.config import threads
    from lqmf.tools.llamacpp import load

    path = cfg.model
    if not path:
        from lqmf.tools.models import resolve

        path = str(resolve("smollm2").path)
    with _LOCK:
        if path not in _GGUF:
            _GGUF[path] = load().Llama(model_path=path, n_ctx=2048, n_threads=threads(), verbose=False, seed=0)
        model = _GGUF[path]
    kw: dict = ({"response_format": {"type": "json_object", "schema": schema}, "temperature": 0.0, "max_tokens": 160}
                if purpose is Purpose.PARSE else {"temperature": 0.2, "max_tokens": 160})

    def chat(messages: list[dict]) -> str:
        with _LOCK:
            out = model.create_chat_completion(messages, **kw)  # type: ignore[attr-defined]
        return (out["choices"][0]["message"]["content"] or "").strip()
    return chat


def endpoint(cfg: LlmConfig) -> str:
    """The base URL a LangChain client is given: the configured one (``/v1`` added to an
    OpenAI-compatible URL that has no path), else the provider's usual one."""
    url = (cfg.url or DEFAULT_URL[cfg.provider]).rstrip("/")
    if cfg.provider is Provider.OPENAI and not urlsplit(url).path:
        url += "/v1"
    return url


def _reachable(cfg: LlmConfig, url: str) -> None:
    """A TCP probe, so that an endpoint nobody serves is one sentence at start, not a
    stack of retries on the first question."""
    import socket

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=2).close()
    except OSError as e:
        why = (e.strerror or type(e).__name__).lower()
        raise LlmUnavailable(f"the {cfg.provider.value} LLM at {url} is not answering ({why})",
                             f"{START_HINT[cfg.provider]}, point llm_url (in [chat], or LQMF_CHAT_LLM_URL) at a "
                             "running one, or set [chat] llm = \"none\"") from None


def _langchain(cfg: LlmConfig, purpose: Purpose, schema: dict | None) -> Chat:
    import os

    url = endpoint(cfg)
    try:
        if cfg.provider is Provider.OLLAMA:
            from langchain_ollama import ChatOllama
        else:
            from langchain_openai import ChatOpenAI
    except ImportError:
        raise MissingComponent(f"the {cfg.provider.value} LLM needs {PACKAGE[cfg.provider]}, which is not installed",
                               "pip install 'lqmf[llm]' (make setup installs it)") from None
    _reachable(cfg, url)
    parse = purpose is Purpose.PARSE
    model: Any
    if cfg.provider is Provider.OLLAMA:
        extra: dict[str, Any] = {"format": "json"} if parse else {}
        model = ChatOllama(model=cfg.model or "smollm2", base_url=url, temperature=0 if parse else 0.2,
                           num_predict=200, **extra)
    else:
        from pydantic import SecretStr

        extra = {"model_kwargs": {"response_format": {"type": "json_object"}}} if parse else {}
        # OpenAI itself takes max_completion_tokens; compatible servers (llama.cpp's among them)
        # know only max_tokens and would otherwise write until the context is full
        limit = {"max_completion_tokens": 200} if not cfg.url else {"extra_body": {"max_tokens": 200}}
        model = ChatOpenAI(model=cfg.model or "default", base_url=url, max_retries=0, timeout=120,
                           api_key=SecretStr(os.environ.get("OPENAI_API_KEY") or "unused"),
                           temperature=0 if parse else 0.2, **limit, **extra)

    def chat(messages: list[dict]) -> str:
        return str(model.invoke([(m["role"], m["content"]) for m in messages]).content).strip()
    return chat


BUILDERS: dict[Provider, Callable[[LlmConfig, Purpose, dict | None], Chat]] = {
    Provider.GGUF: _gguf,
    Provider.OPENAI: _langchain,
    Provider.OLLAMA: _langchain,
}


def client(cfg: LlmConfig, purpose: Purpose = Purpose.REPLY, schema: dict | None = None) -> Chat:
    """A client for ``cfg``, built once per (configuration, purpose). Raises an
    ``LqmfError`` (one sentence with the fix) when it cannot start; that answer is kept
    too, so a broken provider costs one probe per process."""
    if cfg.provider is Provider.NONE:
        raise LlmUnavailable("no LLM is configured", "set [chat] llm in config.toml (gguf, openai or ollama)")
    key = (cfg, purpose)
    if key not in _BUILT:
        try:
            _BUILT[key] = BUILDERS[cfg.provider](cfg, purpose, schema)
        except LqmfError as e:
            _BUILT[key] = e
        except Exception as e:  # noqa: BLE001 - a bad path or a library's own error: one sentence
            _BUILT[key] = LlmUnavailable(f"the {cfg.provider.value} LLM could not start ({str(e)[:160]})",
                                         "check [chat] llm_model and llm_url, or set [chat] llm = \"none\"")
    got = _BUILT[key]
    if isinstance(got, LqmfError):
        raise got
    return got


# ---- the chat's free-form replies ---------------------------------------------------
def _messages(text: str, history: list[dict]) -> list[dict]:
    msgs = [{"role": "system", "content": SYSTEM}]
    for h in history[-6:]:
        msgs.append({"role": "user" if h["role"] == "user" else "assistant", "content": h["text"][:800]})
    return msgs + [{"role": "user", "content": text[:2000]}]


_SAID: set[str] = set()   # sentences already shown, so a broken provider is reported once per process


def warn_once(message: object) -> None:
    """Log ``message`` (an error's sentence) the first time this process sees it."""
    if str(message) not in _SAID:
        _SAID.add(str(message))
        log.warning("%s", message)


def provider(config: LlmConfig | None = None) -> Reply | None:
    """The free-form reply function for ``config`` (default: ``[chat]``), or None when
    none is configured or it cannot start (said once, as one sentence with the fix)."""
    try:
        cfg = chat_config() if config is None else config
        if cfg.provider is Provider.NONE:
            return None
        chat = client(cfg, Purpose.REPLY)
    except LqmfError as e:
        warn_once(e)
        return None
    return lambda text, history: chat(_messages(text, history))


def reply(text: str, history: list[dict], fn: Reply | None = None) -> str | None:
    """A free-form answer, or None when no LLM is configured (or it failed).
    ``fn`` is the reply function to use (default: ``provider()``)."""
    fn = fn if fn is not None else provider()
    if fn is None:
        return None
    try:
        return fn(text, history) or None
    except Exception as e:  # noqa: BLE001 - an endpoint that died or refused: one sentence, once
        warn_once(LlmUnavailable(f"the LLM did not answer ({type(e).__name__}: {str(e)[:160]})",
                                  "check that its server is running, or set [chat] llm = \"none\""))
        return None
