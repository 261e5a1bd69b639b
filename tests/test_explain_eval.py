"""The retrieval eval gates in CI on the question sets, real index.

Issue [13] asks top-1 >= 90% and top-3 >= 98% on user questions. Measured
(evals/explain/README.md, third round): heldout3.jsonl (fresh, 138 on-topic, 12
off-topic, scored twice) top-1 88.4%, top-3 97.8%, no-note 66.7%, below the
issue's numbers. heldout.jsonl 99.1% / 99.1% / 100%, heldout2.jsonl 94.8% /
98.3% / 87.5% and questions.jsonl 99.0% / 100% / 100%, but those three were
tuned on in the third round (the phrasing cues), so they are no longer
held out. The gates guard what was reached, so a regression fails.
heldout8.jsonl (seventh round: written blind by another session, scored clean
once before the round) reached the issue's numbers: top-1 91.2%, top-3 98.0%
(no-note 79.2% then; 100% after the round, its second scoring); heldout9.jsonl,
written blind the same way after the round and scored once on it: top-1 93.2%,
top-3 98.0%, no-note 86.7%. heldout10.jsonl, the same way: top-1 92.5%, top-3
98.6%, no-note 83.3% clean (90.0% after round 8's not-covered subjects)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

REACHED = {  # file: (top-1, top-3, no-note), each a floor one question under what was measured
    "heldout3.jsonl": (0.87, 0.97, 0.58),     # 122/138, 135/138, 8/12
    "heldout.jsonl": (0.98, 0.98, 0.91),      # 105/106, 105/106, 12/12
    "heldout2.jsonl": (0.93, 0.96, 0.75),     # 55/58, 57/58, 7/8
    "questions.jsonl": (0.97, 0.98, 0.91),    # 96/97, 97/97, 12/12
    "heldout8.jsonl": (0.90, 0.97, 0.95),     # 134/147, 144/147, 24/24
    "heldout9.jsonl": (0.92, 0.97, 0.93),     # 137/147, 144/147, 29/30 (clean: 26/30; round 8 added subjects)
    "heldout10.jsonl": (0.91, 0.97, 0.86),    # 136/147, 145/147, 27/30 (clean: 25/30, the same on-topic)
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("explain-eval-home")     # one index for the four sets


@pytest.mark.parametrize("name", sorted(REACHED))
def test_explain_retrieval_eval_keeps_its_level(home, name):
    env = dict(os.environ, LQMF_HOME=str(home))
    out = subprocess.run([sys.executable, "evals/explain/run_eval.py", "--json", "--file", name], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    res = json.loads(out.stdout.strip().splitlines()[0])
    assert res["on_topic"] >= 58 and res["off_topic"] >= 8
    top1, top3, no_note = REACHED[name]
    assert res["top1"] >= top1 and res["top3"] >= top3 and res["no_note"] >= no_note, res
