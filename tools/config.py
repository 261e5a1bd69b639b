"""One user data dir for everything LQMF keeps; ``LQMF_HOME`` overrides it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_HOME = "LQMF_HOME"


def data_dir() -> Path:
    """The user data dir (created on first use)."""
    env = os.environ.get(ENV_HOME)
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "lqmf"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sub_dir(*parts: str) -> Path:
    """A folder inside the data dir (created on first use)."""
    path = data_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def artifacts_dir() -> Path:
    return sub_dir("artifacts")


def cache_dir() -> Path:
    return sub_dir("cache")


def vendor_dir() -> Path:
    """Install-time files taken from the llama-cpp-python sdist (the HF→GGUF
    converter). They belong to the Python environment, not to one user's data,
    so they live under ``sys.prefix``; ``LQMF_VENDOR_DIR`` overrides."""
    env = os.environ.get("LQMF_VENDOR_DIR")
    return Path(env) if env else Path(sys.prefix) / "share" / "lqmf"


def threads() -> int:
    """Threads for llama.cpp work: ``LQMF_THREADS`` or the cores we may use."""
    env = os.environ.get("LQMF_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def user_config() -> dict:
    """The user's ``config.toml`` in the data dir ({} when absent); invalid
    TOML is one clear error."""
    import tomllib

    from tools.errors import InvalidInput

    path = data_dir() / "config.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path} is not valid TOML ({e})", "fix or delete that file") from None
