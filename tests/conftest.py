"""Shared fixtures. Every test gets its own LQMF_HOME unless it asks for the
session's warm one (bundled model already converted to F16)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LQMF = [sys.executable, "-m", "lqmf.copilot.cli"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Never touch the user's real data dir (``use_warm_home`` overrides this)."""
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "lqmf-home"))


@pytest.fixture(scope="session")
def warm_home(tmp_path_factory) -> Path:
    """A data dir where the bundled smollm2 has its dense and F16 copies cached."""
    home = tmp_path_factory.mktemp("warm-home")
    env = dict(os.environ, LQMF_HOME=str(home))
    subprocess.run([*LQMF, "quantize", "smollm2", "--type", "Q8_0", "--json"], env=env, check=True,
                   capture_output=True, cwd=ROOT, timeout=900)
    return home


@pytest.fixture
def use_warm_home(warm_home, monkeypatch) -> Path:
    monkeypatch.setenv("LQMF_HOME", str(warm_home))
    return warm_home


def run_lqmf(*args: str, env: dict | None = None, timeout: float = 900, input: str | None = None):
    """Run the real `lqmf` CLI in a subprocess (environment = os.environ + env)."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([*LQMF, *args], env=full_env, capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, input=input)


def partial_files(*roots: Path) -> list[Path]:
    """Leftover temp outputs (tools.fsutil names them .NAME.partial-PID)."""
    return [p for r in roots if r.exists() for p in r.rglob("*") if ".partial-" in p.name]


def stop_workers(home: Path) -> None:
    """Stop the background workers started under this data dir (by pid, from the job store)."""
    import signal

    if not (home / "jobs.db").exists() and not (home / "jobs").exists():
        return
    env = dict(os.environ, LQMF_HOME=str(home))
    code = "from lqmf.tools.scheduler import JobStore; print(' '.join(str(w['pid']) for w in JobStore().workers()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    for pid in out.stdout.split():
        try:
            os.kill(int(pid), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture
def chat_env(tmp_path, monkeypatch):
    """A chat data dir whose long tools submit the scheduler's noop kind and start no
    worker: the test hook (copilot/app/testing.py) installs such an App for the test.
    Subprocesses get the same through ``testing.command()``."""
    from lqmf.copilot.app import testing

    home = tmp_path / "home"
    monkeypatch.setenv("LQMF_HOME", str(home))
    monkeypatch.delenv("LQMF_CHAT_LLM", raising=False)
    with testing.install(testing.app("noop", worker=False)):
        yield home
    stop_workers(home)


# the recipe of the suite's one real GPTQ build: every option a user can give, so that one build checks
# the options' path (group size, activation order, a calibration text) and the artifact's reload alike
GPTQ_RECIPE = {"group_size": "32", "desc_act": "true", "calibration": "chat"}


@pytest.fixture(scope="session")
def gptq_built(tmp_path_factory):
    """(data dir, result): GPTQ 4-bit of smollm2 with GPTQ_RECIPE, 32 calibration samples of 64 tokens,
    built once for tests/test_gptq.py and tests/test_gptq_options.py. GPTQModel's per-module work takes
    minutes on 2 cores whatever the sample count, so the suite pays for one build; the declared defaults
    (group size 64, no activation order, the eval text's tail) are checked without one."""
    return gptqmodel_build(tmp_path_factory.mktemp("gptq-home"), "GPTQ_4BIT", "gptq", 32, 64, dict(GPTQ_RECIPE))


def gptqmodel_build(home: Path, quant_type: str, method: str, samples: int, tokens: int,
                    recipe: dict | None = None):
    """(home, result): a real GPTQModel build (GPTQ or AWQ) of smollm2 in data dir ``home``, with a
    calibration set of ``samples`` x ``tokens`` instead of the default (set only for this build)."""
    from lqmf.tools.quantize import gptq_build, quantize

    mp = pytest.MonkeyPatch()
    mp.setenv("LQMF_HOME", str(home))
    mp.setattr(gptq_build, "CALIBRATION", samples)
    mp.setattr(gptq_build, "SAMPLE_TOKENS", tokens)
    try:
        return home, quantize("smollm2", quant_type, method=method, recipe=recipe)
    finally:
        mp.undo()
