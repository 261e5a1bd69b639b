"""`make demo` itself, as the README runs it (fewer scoring windows to keep CI short)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, partial_files, stop_workers


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_demo_from_an_empty_data_dir(tmp_path):
    home = tmp_path / "demo-home"
    env = dict(os.environ, LQMF_HOME=str(home))
    try:
        r = subprocess.run(["make", "demo", "DEMO_CHUNKS=2"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=1500)
    finally:
        stop_workers(home)
    out = r.stdout
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Traceback" not in out + r.stderr
    # the scripted conversation quantized and benchmarked the bundled model through the queue
    assert re.search(r"Job \w+ \(quantize smollm2 Q4_K_M\) finished", out), out
    assert re.search(r"Job \w+ \(benchmark smollm2 Q4_K_M\) finished: .* KLD 0\.\d+", out), out
    # then the quality table, with the caveat, and the inventory
    for row in ("Q8_0", "Q4_K_M", "mean KLD", "Q4_1", "Artifacts"):
        assert row in out
    assert (home / "artifacts" / "smollm2" / "smollm2.Q4_K_M.gguf").is_file()
    assert partial_files(home) == []
