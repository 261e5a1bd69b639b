"""A fresh data dir (its own store, journal and artifacts) that reuses the warm
home's caches (the F16 conversion and the baselines), so a test measures only
its own trials."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def home_sharing_caches(warm: Path, tmp: Path) -> Path:
    home = tmp / "home"
    (home / "cache").mkdir(parents=True)
    for name in ("f16", "baseline"):
        (warm / "cache" / name).mkdir(exist_ok=True)
        os.symlink(warm / "cache" / name, home / "cache" / name)
    digests = warm / "cache" / "digests.json"
    if digests.exists():
        (home / "cache" / "digests.json").write_bytes(digests.read_bytes())
    return home


def use_home_sharing_caches(warm_home: Path, tmp_path: Path, monkeypatch) -> Path:
    """For a test module's ``tune_home`` fixture: the fresh home, made the test's data dir."""
    home = home_sharing_caches(warm_home, tmp_path)
    monkeypatch.setenv("LQMF_HOME", str(home))
    return home


def llama_tools_built() -> bool:
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize.recipe import tool_path

    try:
        tool_path("llama-quantize")
        tool_path("llama-imatrix")
        return True
    except LqmfError:
        return False


needs_llama_tools = pytest.mark.skipif(not llama_tools_built(),
                                       reason="llama.cpp's tools are not built (python tools/llamacpp/build.py tools)")
