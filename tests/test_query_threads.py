"""`lqmf query` on free text warms the embedder up in a thread while the main
thread imports chromadb: both go through tools/heavy.py's import lock, so no
run sees a half-imported numpy (it failed 4 of 10 runs before the lock: ten fresh
processes would all pass with that bug 0.6 % of the time)."""
from __future__ import annotations

import pytest

from tests.conftest import run_lqmf

TEXTS = ["show me my gemma 3 270m runs", "'; DROP TABLE x; --", "runs where quality collapsed",
         "smallest Q4 runs of smollm2"]


@pytest.mark.slow
def test_free_text_query_10_fresh_processes():
    failures = []
    for i in range(10):
        text = TEXTS[i % len(TEXTS)]
        args = ["query", "--like", text] if i % 2 else ["query", text]
        r = run_lqmf(*args, timeout=120)
        if r.returncode != 0 or "Traceback" in r.stderr:
            failures.append((args, r.returncode, r.stderr.strip().splitlines()[-1:]))
    assert failures == [], failures
