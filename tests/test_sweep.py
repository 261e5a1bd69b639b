"""`lqmf sweep`: one request fans out to quantize+benchmark jobs, a real
background worker runs them, and the summary picks the best."""
from __future__ import annotations

import json
import time

import pytest

from tests.conftest import run_lqmf, stop_workers


@pytest.mark.slow
def test_sweep_runs_every_strategy_and_picks_the_smallest_under_a_kld_limit(use_warm_home):
    r = run_lqmf("sweep", "smollm2", "--type", "Q8_0,Q4_0", "--chunks", "2", "--json")
    assert r.returncode == 0, r.stderr
    batch = json.loads(r.stdout)["batch"]
    try:
        deadline = time.time() + 900
        while time.time() < deadline:
            r = run_lqmf("sweep", "--batch", batch, "--pick", "smallest", "--max-kld", "0.05", "--json")
            assert r.returncode == 0, r.stderr
            summary = json.loads(r.stdout)
            if summary["pending"] == 0:
                break
            time.sleep(2)
        states = {s["quant_type"]: s["state"] for s in summary["strategies"]}
        assert states == {"Q8_0": "succeeded", "Q4_0": "succeeded"}, summary
        klds = {s["quant_type"]: s["kld_mean"] for s in summary["strategies"]}
        assert klds["Q8_0"] < 0.05 < klds["Q4_0"]  # Q4_0 of this model is far off (≈0.3)
        assert summary["best"]["quant_type"] == "Q8_0"  # the smaller Q4_0 misses the limit
        r = run_lqmf("sweep", "--batch", batch, "--pick", "smallest")
        assert "pick: smollm2 Q4_0" in r.stdout  # without a limit the smallest file wins
    finally:
        stop_workers(use_warm_home)


def test_sweep_rejects_bad_input_before_queueing_anything():
    r = run_lqmf("sweep", "smollm2", "--type", "Q4_K_M,Q9")
    assert r.returncode == 2 and "unknown quant type 'Q9'" in r.stderr and "Traceback" not in r.stderr
    assert run_lqmf("jobs", "--json").stdout.strip() in ("[]", "")
    r = run_lqmf("sweep", "--batch", "nope")
    assert r.returncode == 2 and "no batch nope" in r.stderr
