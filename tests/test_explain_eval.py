"""The retrieval eval gates in CI: top-1 >= 90%, top-3 >= 98%, no-note >= 90%
on the held-out questions (evals/explain/questions.jsonl), real index."""
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
    assert res["top1"] >= 0.90 and res["top3"] >= 0.98 and res["no_note"] >= 0.90, res
    assert out.returncode == 0
