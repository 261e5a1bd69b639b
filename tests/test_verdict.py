"""An artifact's standing with its gate (tools/verdict.py), over hand-made run
records and a real file (no engine: the rule, table-driven), and the queued
quantize job's spec with an imatrix, overrides and a gate (real job store).
The file: 20 s on 2 busy cores, nearly all of it the shared warm home."""
from __future__ import annotations

import os
import time

import pytest

from lqmf.tools.store.records import ExperimentRecord
from lqmf.tools.verdict import CARRIED, standing


def _bench(art, gate=None, failed=None, at=None, sha=None, status="succeeded", kind="benchmark"):
    return ExperimentRecord(kind=kind, status=status, model="smollm2", artifact=str(art), gate=gate,
                            gate_failed=failed, created_at=at if at is not None else time.time(), artifact_sha256=sha)


@pytest.fixture
def art(tmp_path):
    p = tmp_path / "m.Q4_0.gguf"
    p.write_bytes(b"x")
    os.utime(p, (1000.0, 1000.0))
    return p


def test_the_latest_gated_run_decides_and_a_later_pass_clears(art):
    runs = [_bench(art, "kld<0.05", "kld<0.05 (KLD 0.31)", at=2000), _bench(art, at=2500)]
    v = standing(art, runs)
    assert v.rejected and v.gate == "kld<0.05" and v.record_id == runs[0].id
    assert v.carried() == f"kld<0.05 (KLD 0.31){CARRIED}{runs[0].id})"
    runs.append(_bench(art, "kld<1", None, at=3000))               # judged again, and it passes
    assert not standing(art, runs).rejected


@pytest.mark.parametrize("why, run", [
    ("no gate: it judged nothing", dict(gate=None, failed=None, at=2000)),
    ("a quantize run, not a benchmark", dict(gate="kld<0.05", failed="x", at=2000, kind="quantize")),
    ("a failed run measured nothing", dict(gate="kld<0.05", failed="x", at=2000, status="failed")),
    ("judged before the file was rebuilt", dict(gate="kld<0.05", failed="x", at=500)),
    ("another content (sha256)", dict(gate="kld<0.05", failed="x", at=2000, sha="other")),
    ("a carried rejection is not a judgement", dict(gate="kld<0.05", failed=f"x{CARRIED}abc)", at=2000)),
])
def test_runs_that_do_not_judge_this_artifact(art, why, run):
    assert standing(art, [_bench(art, **run)], sha256="mine") is None, why


def test_another_path_is_another_artifact(art, tmp_path):
    assert standing(art, [_bench(tmp_path / "other.gguf", "kld<0.05", "x", at=2000)]) is None


def test_a_queued_quantize_keeps_its_recipe_gate_and_chunks_in_the_job_spec(use_warm_home):
    """The job store is real; a saved gate's name is stored as its expression."""
    from lqmf.copilot.app import App, gates, jobs
    from lqmf.copilot.app import quantize as q
    from lqmf.tools.errors import InvalidInput

    app = App()
    gates.save("strict", "kld<0.03")
    recipe = q.recipe_of(None, ["output=q8_0"])
    [jid] = q.queue(app, "smollm2", ["Q4_K_M"], recipe=recipe, gate="strict", chunks=2)
    spec = jobs.show(app, jid).args
    assert spec["recipe"] == {"tensor:output": "q8_0"} and spec["gate"] == "kld<0.03" and spec["chunks"] == 2
    assert "gate kld<0.03" in jobs.show(app, jid).what
    with pytest.raises(InvalidInput, match="gate"):
        q.queue(app, "smollm2", ["Q4_K_M"], gate="kld<<1")
    with pytest.raises(InvalidInput, match="GGUF types, not NF4"):
        jobs.submit(app, "quantize", [{"model": "smollm2", "quant_type": "NF4", "recipe": recipe}])
    with pytest.raises(InvalidInput, match="IQ2_XS needs an importance matrix"):
        jobs.submit(app, "quantize", [{"model": "smollm2", "quant_type": "IQ2_XS", "gate": "kld<1"}])
    with pytest.raises(InvalidInput, match="chunks are for its gate"):
        jobs.submit(app, "quantize", [{"model": "smollm2", "quant_type": "Q8_0", "chunks": 2}])
