"""Every setting LQMF reads, declared once: its key in ``config.toml``, type,
default, environment override and meaning. The tools and the copilot both read
through ``get(key)``; nothing else reads ``LQMF_*`` variables or the file's keys.

A key ``section.name`` is ``[section] name = ...`` in ``data_dir()/config.toml``;
the environment variable, when set and not empty, wins over the file. Settings
marked ``file=False`` are environment only (the data dir itself, or values a
parent process hands its children). ``get`` takes the file's table and the
environment as arguments, so a test passes its own instead of patching globals.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: object
    env: str | None
    doc: str
    choices: tuple[str, ...] = ()
    alias: str | None = None  # an older spelling in the file, also read (e.g. a top-level key)
    file: bool = True         # False: environment only


LLM_CHOICES = ("none", "gguf", "openai", "ollama")

TABLE: tuple[Setting, ...] = (
    # --- where things live --------------------------------------------------------------
    Setting("home", str, "", "LQMF_HOME", "the user data dir (default: $XDG_DATA_HOME/lqmf)", file=False),
    Setting("vendor_dir", str, "", "LQMF_VENDOR_DIR",
            "install-time files from the llama-cpp-python sdist (default: <sys.prefix>/share/lqmf)", file=False),
    # --- compute ----------------------------------------------------------------------------
    Setting("compute.threads", int, 0, "LQMF_THREADS", "threads for llama.cpp work (0: the usable cores)"),
    Setting("compute.llama_verbose", bool, False, "LQMF_LLAMA_VERBOSE", "show all of llama.cpp's log", file=False),
    Setting("embeddings.dtype", str, "auto", "LQMF_EMBED_DTYPE",
            "embedding model dtype (auto: bfloat16 where the CPU has it)", ("auto", "float32", "bfloat16")),
    Setting("embeddings.threads", int, 0, "LQMF_EMBED_THREADS", "torch threads per embedding call (0: automatic)"),
    # --- the experiment store ---------------------------------------------------------------
    Setting("store.chroma_url", str, "", "LQMF_CHROMA_URL",
            "a Chroma server (http://host:port) instead of the local store", alias="chroma_url"),
    Setting("store.lock_timeout", float, 30.0, "LQMF_STORE_LOCK_TIMEOUT",
            "seconds to wait for the local store's lock"),
    # --- the scheduler ----------------------------------------------------------------------
    Setting("scheduler.ram_budget", str, "75%", "LQMF_RAM_BUDGET", "RAM the workers may plan with (75% or 8G)"),
    Setting("scheduler.cores", int, 0, "LQMF_CORES", "cores the workers may plan with (0: every core)"),
    Setting("scheduler.launch", str, "", "LQMF_JOB_LAUNCH",
            "how a worker starts a job (empty: fork on Linux, else exec)", ("", "fork", "exec")),
    Setting("scheduler.retry_backoff_s", float, 2.0, "LQMF_RETRY_BACKOFF_S", "seconds before a failed job is retried",
            file=False),
    Setting("scheduler.worker_stale_s", float, 20.0, "LQMF_WORKER_STALE_S",
            "seconds without a heartbeat before a worker counts as dead", file=False),
    Setting("ray.address", str, "", "LQMF_RAY_ADDRESS", "a Ray cluster's head (host:port) for `lqmf worker --ray`"),
    Setting("ray.retries", int, 3, "LQMF_RAY_RETRIES", "retries of a Ray job whose node dies", file=False),
    Setting("ray.ship_code", bool, True, "LQMF_RAY_SHIP_CODE", "ship the lqmf package to Ray workers"),
    # --- the copilot ------------------------------------------------------------------------
    Setting("chat.llm", str, "none", "LQMF_CHAT_LLM", "the LLM for free-form replies", LLM_CHOICES),
    Setting("chat.llm_model", str, "", "LQMF_CHAT_LLM_MODEL",
            "gguf: a .gguf path (default: the bundled SmolLM2); an endpoint: its model name"),
    Setting("chat.llm_url", str, "", "LQMF_CHAT_LLM_URL", "the OpenAI-compatible or Ollama endpoint's base URL"),
    Setting("chat.bench_chunks", int, 0, "LQMF_CHAT_BENCH_CHUNKS",
            "benchmark windows per chat job (0: the benchmark's default)"),
    # --- the parser -------------------------------------------------------------------------
    Setting("parser.mode", str, "builtin", "LQMF_PARSER", "which parser understands an utterance",
            ("builtin", "llm", "hybrid"), alias="parser"),
    Setting("parser_llm.llm", str, "", "LQMF_PARSER_LLM",
            "the parser's LLM (empty: [chat] llm when it names one, else gguf)", LLM_CHOICES),
    Setting("parser_llm.llm_model", str, "", "LQMF_PARSER_LLM_MODEL", "as chat.llm_model, for the parser"),
    Setting("parser_llm.llm_url", str, "", "LQMF_PARSER_LLM_URL", "as chat.llm_url, for the parser"),
    Setting("parser_llm.hybrid_threshold", float, 0.5, None,
            "hybrid mode asks the LLM when the rules' confidence is below this"),
)

BY_KEY: dict[str, Setting] = {}
for _s in TABLE:
    if _s.key in BY_KEY:
        raise RuntimeError(f"setting {_s.key} declared twice")
    BY_KEY[_s.key] = _s

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _from_file(s: Setting, config: Mapping) -> object:
    section, _, name = s.key.rpartition(".")
    table = config.get(section) if section else config
    if isinstance(table, Mapping) and name in table:
        return table[name]
    if s.alias:
        sec, _, nm = s.alias.rpartition(".")
        t = config.get(sec) if sec else config
        if isinstance(t, Mapping) and nm in t and not isinstance(t[nm], Mapping):
            return t[nm]
    return None


def _convert(s: Setting, raw: object, where: str) -> Any:
    from lqmf.tools.errors import InvalidInput

    kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(s.type, "text")
    fix = f"set {where} to " + ("one of " + ", ".join(c or '""' for c in s.choices) if s.choices else kind)
    try:
        if s.type is bool:
            text = str(raw).strip().lower()
            if isinstance(raw, bool):
                value: Any = raw
            elif text in _TRUE or text in _FALSE:
                value = text in _TRUE
            else:
                raise ValueError(text)
        elif s.type is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            value = int(str(raw).strip() or 0)
        elif s.type is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(str(raw).strip())
        else:
            value = str(raw).strip()
    except (TypeError, ValueError):
        raise InvalidInput(f"{where} = {str(raw)[:60]!r} is not a valid {s.type.__name__}", fix) from None
    if s.choices:
        value = str(value).lower()
        if value not in s.choices:
            noun = s.key.replace(".", " ").replace("_", " ")
            raise InvalidInput(f"unknown {noun} {str(raw)[:60]!r} (from {where})", fix) from None
    if s.type in (int, float) and value < 0:
        raise InvalidInput(f"{where} = {raw!r} is negative", fix)
    return value


def where(key: str) -> str:
    """How a user names the setting: ``[chat] llm`` (or ``LQMF_CHAT_LLM``)."""
    s = BY_KEY[key]
    section, _, name = s.key.rpartition(".")
    spot = (f"[{section}] {name}" if section else name) if s.file else ""
    return " or ".join(x for x in (spot, s.env or "") if x)


def get(key: str, *, config: Mapping | None = None, environ: Mapping[str, str] | None = None) -> Any:
    """The value of ``key``: the environment override, else ``config.toml``, else the default.
    ``config`` (the file's table) and ``environ`` default to the real ones. A value of
    the wrong type or outside its choices is one clear error naming where it was set."""
    s = BY_KEY[key]
    env = os.environ if environ is None else environ
    if s.env and env.get(s.env, "").strip():
        return _convert(s, env[s.env], s.env)
    if s.file:
        if config is None:
            from lqmf.tools.config import user_config

            config = user_config()
        raw = _from_file(s, config)
        if raw is not None:
            section, _, name = s.key.rpartition(".")
            return _convert(s, raw, f"[{section}] {name}" if section else name)
    return s.default


def present(key: str, *, config: Mapping | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``key`` is set by the environment or the file (not just defaulted)."""
    s = BY_KEY[key]
    env = os.environ if environ is None else environ
    if s.env and env.get(s.env, "").strip():
        return True
    if not s.file:
        return False
    if config is None:
        from lqmf.tools.config import user_config

        config = user_config()
    return _from_file(s, config) is not None


def table_markdown() -> str:
    """The table as Markdown (README and ``lqmf doctor`` can show it)."""
    rows = ["| key | type | default | environment | meaning |", "|---|---|---|---|---|"]
    for s in TABLE:
        key = s.key if s.file else f"({s.key}: environment only)"
        shown = " / ".join(c or '""' for c in s.choices)
        choices = f" ({shown})" if s.choices else ""
        rows.append(f"| `{key}` | {s.type.__name__} | `{s.default!r}` | `{s.env or ''}` | {s.doc}{choices} |")
    return "\n".join(rows)
