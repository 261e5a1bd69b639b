"""The copilot's user settings: ``[chat]`` in ``data_dir()/config.toml``.

Every key is declared once in ``lqmf.tools.settings.TABLE`` (type, default,
environment override, meaning); this is the copilot's typed view of it. The
LLM keys (``llm``, ``llm_model``, ``llm_url``) are read by ``lqmf.copilot.llm``.
``config`` and ``environ`` stand in for the file and the environment (tests).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lqmf.tools.config import user_config
from lqmf.tools.settings import get


@dataclass(frozen=True)
class Settings:
    llm: str = "none"
    llm_model: str = ""
    llm_url: str = ""
    bench_chunks: int = 0


def load(config: Mapping | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    data = user_config() if config is None else config
    env = os.environ if environ is None else environ
    return Settings(
        llm=str(get("chat.llm", config=data, environ=env)),
        llm_model=str(get("chat.llm_model", config=data, environ=env)),
        llm_url=str(get("chat.llm_url", config=data, environ=env)),
        bench_chunks=int(get("chat.bench_chunks", config=data, environ=env)),
    )

