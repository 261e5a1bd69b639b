"""One user data dir for everything LQMF keeps; ``LQMF_HOME`` overrides it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from lqmf.tools.settings import BY_KEY, get

ENV_HOME = str(BY_KEY["home"].env)


def data_dir() -> Path:
    """The user data dir (created on first use)."""
    env = str(get("home"))
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "lqmf"
    return _usable_dir(path)


def scratch_data_dir(prefix: str) -> Path:
    """A fresh data dir for an eval or bench run (``LQMF_HOME`` set to it), removed when the
    process exits: each run holds copies of the bundled models, hundreds of MB."""
    import atexit
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    env = BY_KEY["home"].env
    assert env
    os.environ[env] = str(home)
    return home


def _usable_dir(path: Path) -> Path:
    """``path`` created if needed; a file there, a read-only disk or a name the
    file system refuses is one sentence naming LQMF_HOME."""
    from lqmf.tools.errors import DataDirUnusable, short_path

    fix = f"point {ENV_HOME} at a folder you can write to"
    if not str(path).strip():
        raise DataDirUnusable(f"{ENV_HOME} is set but empty", fix)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataDirUnusable(f"the data dir {short_path(path)} exists and is not a folder", fix) from None
    except OSError as e:
        raise DataDirUnusable(f"the data dir {short_path(path)} cannot be created ({e.strerror})", fix) from None
    if not path.is_dir():
        raise DataDirUnusable(f"the data dir {short_path(path)} is not a folder", fix)
    if not os.access(path, os.W_OK | os.X_OK) or not _can_write(path):
        raise DataDirUnusable(f"the data dir {short_path(path)} is not writable", fix)
    return path


_WRITABLE: set[str] = set()


def _can_write(path: Path) -> bool:
    """A real write probe, once per folder and process (``os.access`` says yes
    to root on a read-only mount)."""
    key = str(path)
    if key in _WRITABLE:
        return True
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    _WRITABLE.add(key)
    return True


def sub_dir(*parts: str) -> Path:
    """A folder inside the data dir (created on first use)."""
    return _usable_dir(data_dir().joinpath(*parts))


def artifacts_dir() -> Path:
    return sub_dir("artifacts")


def cache_dir() -> Path:
    return sub_dir("cache")


def vendor_dir() -> Path:
    """Install-time files taken from the llama-cpp-python sdist (the HF→GGUF
    converter). They belong to the Python environment, not to one user's data,
    so they live under ``sys.prefix``; ``LQMF_VENDOR_DIR`` overrides."""
    env = str(get("vendor_dir"))
    return Path(env) if env else Path(sys.prefix) / "share" / "lqmf"


def threads() -> int:
    """Threads for llama.cpp work: ``LQMF_THREADS`` or the cores we may use."""
    try:
        want = int(get("compute.threads"))
    except Exception:  # noqa: BLE001 - a bad value here falls back to the cores (the CLI checks --threads)
        want = 0
    if want > 0:
        return want
    from lqmf.tools.hardware import usable_cores

    return usable_cores()


def user_config() -> dict:
    """The user's ``config.toml`` in the data dir ({} when absent); invalid
    TOML is one clear error."""
    import tomllib

    from lqmf.tools.errors import InvalidInput

    path = data_dir() / "config.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path} is not valid TOML ({e})", "fix or delete that file") from None
