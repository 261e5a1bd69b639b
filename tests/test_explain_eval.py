"""The retrieval eval gates in CI on the held-out questions
(evals/explain/questions.jsonl), real index.

Issue [13] asks top-1 >= 90% and top-3 >= 98%. Measured: top-1 90.7%, top-3
97.9% (95 of 97), no-note 91.7%. The CI gate guards what was reached (top-3
>= 97%), so a regression fails; the issue's 98% is not claimed, and [13] stays
open until it is met on a fresh held-out set."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_explain_retrieval_eval_passes_its_gates(tmp_path):
    env = dict(os.environ, LQMF_HOME=str(tmp_path / "home"))
    out = subprocess.run([sys.executable, "evals/explain/run_eval.py", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    res = json.loads(out.stdout.strip().splitlines()[0])
    assert res["on_topic"] >= 70 and res["off_topic"] >= 10
    assert res["top1"] >= 0.90 and res["top3"] >= 0.97 and res["no_note"] >= 0.90, res
