"""The copilot's user settings: ``[chat]`` in ``data_dir()/config.toml``.

    [chat]
    llm = "none"                 # none | gguf | openai | ollama
    llm_model = ""               # a .gguf path, or the endpoint's model name
    llm_url = ""                 # OpenAI-compatible / Ollama base URL
    bench_chunks = 0             # benchmark windows per job (0: the benchmark's default)

Environment overrides (for tests and evals): ``LQMF_CHAT_LLM``,
``LQMF_CHAT_LLM_MODEL``, ``LQMF_CHAT_LLM_URL``, ``LQMF_CHAT_BENCH_CHUNKS``.
(Tests that want quick stand-in jobs pass their own job queue: copilot/app/testing.py.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from lqmf.tools.config import user_config


@dataclass(frozen=True)
class Settings:
    llm: str = "none"
    llm_model: str = ""
    llm_url: str = ""
    bench_chunks: int = 0


def load() -> Settings:
    chat = user_config().get("chat", {}) or {}
    env = os.environ
    return Settings(
        llm=str(env.get("LQMF_CHAT_LLM", chat.get("llm", "none"))).lower(),
        llm_model=str(env.get("LQMF_CHAT_LLM_MODEL", chat.get("llm_model", ""))),
        llm_url=str(env.get("LQMF_CHAT_LLM_URL", chat.get("llm_url", ""))),
        bench_chunks=int(env.get("LQMF_CHAT_BENCH_CHUNKS", chat.get("bench_chunks", 0)) or 0),
    )

