"""The retrieval eval gates in CI on the held-out question sets, real index.

Issue [13] asks top-1 >= 90% and top-3 >= 98% on user questions. Measured
(evals/explain/README.md): heldout.jsonl (fresh, 106 questions) top-1 87.7%,
top-3 96.2%, no-note 66.7%; heldout2.jsonl (58) 89.7% / 98.3% / 87.5%; the
first set, questions.jsonl (97), 90.7% / 99.0% / 100%. The gates guard what was
reached, so a regression fails; the issue's numbers are not claimed for the
fresh sets."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

REACHED = {  # file: (top-1, top-3, no-note), each a floor one question under what was measured
    "heldout.jsonl": (0.86, 0.95, 0.66),
    "heldout2.jsonl": (0.87, 0.96, 0.87),
    "questions.jsonl": (0.89, 0.97, 0.90),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("explain-eval-home")     # one index for the three sets


@pytest.mark.parametrize("name", sorted(REACHED))
def test_explain_retrieval_eval_keeps_its_level(home, name):
    env = dict(os.environ, LQMF_HOME=str(home))
    out = subprocess.run([sys.executable, "evals/explain/run_eval.py", "--json", "--file", name], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    res = json.loads(out.stdout.strip().splitlines()[0])
    assert res["on_topic"] >= 58 and res["off_topic"] >= 8
    top1, top3, no_note = REACHED[name]
    assert res["top1"] >= top1 and res["top3"] >= top3 and res["no_note"] >= no_note, res
