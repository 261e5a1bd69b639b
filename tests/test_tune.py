"""Tune, importance matrices, mixed types and templates on the bundled model,
with real quantize + benchmark trials (2 windows each). Measured on 2 cores
shared with other work (load 8-10): the whole file 17 min (warm home 2 min;
imatrix path 5.5 min, tune stops early 3 min, predict 2.5 min, killed tune
2 min, template 1.7 min); the three fast ones 8 s."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import LQMF, ROOT, run_lqmf
from tests.tune_fixtures import needs_llama_tools, use_home_sharing_caches


@pytest.fixture
def tune_home(warm_home, tmp_path, monkeypatch):
    return use_home_sharing_caches(warm_home, tmp_path, monkeypatch)


@pytest.mark.slow
def test_tune_stops_early_and_saves_what_it_found_as_a_template(tune_home):
    """Q6_K passes kld<0.05; Q8_0 is larger, and Q2_K is predicted (after one trial calibrates
    the prior) far over the limit: one trial of three, and the template remembers Q6_K."""
    env = {"LQMF_HOME": str(tune_home)}
    r = run_lqmf("tune", "smollm2", "--gate", "kld<0.05", "--candidates", "Q8_0,Q6_K,Q2_K", "--chunks", "2",
                 "--save-template", "small-ok", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["best"] == "Q6_K" and [t["candidate"] for t in rep["trials"]] == ["Q6_K"]
    assert rep["trials"][0]["kld_mean"] < 0.05 and rep["measured"] == 1
    assert set(rep["pruned"]) == {"Q8_0", "Q2_K"}
    assert "not smaller than Q6_K" in rep["pruned"]["Q8_0"] and "predicted kld_mean" in rep["pruned"]["Q2_K"]
    r = run_lqmf("template", "small-ok", "--json", env=env)
    tpl = json.loads(r.stdout)
    assert tpl["quant_type"] == "Q6_K" and tpl["gate"] == "kld<0.05" and tpl["source"].startswith("tune smollm2")


def test_an_impossible_gate_names_the_best_found_and_the_failed_condition():
    """The search itself over recorded numbers (a measure function standing in for trials:
    the search is pure logic, tools/tune/search.py)."""
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.tune.candidates import Candidate
    from lqmf.tools.tune.predict import bpw_prior
    from lqmf.tools.tune.search import Trial, search

    gate = parse_gate("kld<0.001")
    kld = {"Q8_0": 0.004, "Q6_K": 0.01, "Q4_K_M": 0.06}
    measured = []

    def measure(batch):
        measured.extend(c.key for c in batch)
        return [Trial(c.key, {"kld_mean": kld[c.key], "size_bytes": int(c.bpw * 1e7)},
                      gate.check({"kld_mean": kld[c.key]})) for c in batch]

    res = search([Candidate(t) for t in kld], gate, measure, bpw_prior)
    assert res.best is None and measured[0] == "Q8_0"        # the one predicted nearest to passing first
    assert res.reason.startswith("no candidate passes kld<0.001; the nearest was Q8_0, which failed kld<0.001 (KLD 0.0040)")


@pytest.mark.slow
def test_a_killed_tune_resumes_where_it_was(tune_home):
    """Kill -9 the tune after its first trial is journaled; the restarted tune does not measure it again."""
    env = {"LQMF_HOME": str(tune_home)}
    journal = tune_home / "tune" / "trials.jsonl"
    args = ["tune", "smollm2", "--gate", "kld<0.05", "--candidates", "Q8_0,Q4_0", "--chunks", "2", "--exhaustive"]
    import os

    proc = subprocess.Popen([*LQMF, *args], env=dict(os.environ, **env), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 600
        while time.time() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count("\n") >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()   # still running: the second trial has not finished
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    first = json.loads(journal.read_text().splitlines()[0])["key"].split("|")[1]
    r = run_lqmf(*args, "--json", env=env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["measured"] == 1 and len(rep["trials"]) == 2
    assert [t["candidate"] for t in rep["trials"] if t["reused"]] == [first]
    assert rep["best"] == "Q8_0"                       # Q4_0 of this model is far over 0.05


def test_a_too_short_calibration_text_is_refused_before_any_work(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("A short note about quantization, far too short for an importance matrix. " * 3)
    r = run_lqmf("quantize", "smollm2", "--type", "Q4_K_M", "--imatrix", str(short), timeout=300)
    assert r.returncode == 2 and "an importance matrix needs at least 512" in r.stderr, r.stderr
    assert "tokens for smollm2" in r.stderr and "Traceback" not in r.stderr
    home = tmp_path / "lqmf-home"
    assert not list((home / "artifacts").rglob("*.gguf")) if (home / "artifacts").exists() else True
    assert not (home / "cache" / "f16").exists() or not list((home / "cache" / "f16").iterdir())


def test_an_iq2_type_without_an_imatrix_is_one_sentence():
    r = run_lqmf("quantize", "smollm2", "--type", "IQ2_XXS", timeout=120)
    assert r.returncode == 2 and "IQ2_XXS needs an importance matrix" in r.stderr


@pytest.mark.slow
@needs_llama_tools
def test_the_imatrix_path_makes_a_loadable_artifact_whose_kld_is_measured(tune_home):
    env = {"LQMF_HOME": str(tune_home)}
    r = run_lqmf("quantize", "smollm2", "--type", "Q4_K_M", "--imatrix", "creative", "--gate", "kld<1",
                 "--chunks", "2", "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)[0]
    assert out["artifact"].endswith("smollm2.Q4_K_M.im-creative.gguf")
    assert out["recipe"]["imatrix"] == "creative" and len(out["recipe"]["imatrix_sha256"]) == 64
    assert 0 < out["kld_mean"] < 1 and out["rejected"] is False
    imatrices = list((tune_home / "cache" / "imatrix").glob("*-creative-*.gguf"))
    assert len(imatrices) == 1                         # cached by (F16 hash, text, tool build)
    from lqmf.copilot.app import App

    bench = [r for r in App().store().all() if r.kind == "benchmark"][-1]
    assert bench.recipe["imatrix"] == "creative" and bench.eval_text == "jargon-prose"   # not the calibration text


@pytest.mark.slow
@needs_llama_tools
def test_template_round_trip_with_a_per_tensor_override(tune_home):
    env = {"LQMF_HOME": str(tune_home)}
    r = run_lqmf("template", "embed8", "--type", "Q4_0", "--tensor-type", "token_embd=q8_0", "--gate", "kld<2",
                 env=env)
    assert r.returncode == 0, r.stderr
    r = run_lqmf("quantize", "smollm2", "--template", "embed8", "--chunks", "2", "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)[0]
    assert out["quant_type"] == "Q4_0" and ".Q4_0.mix-" in out["artifact"]
    assert out["recipe"] == {"tensor:token_embd": "q8_0"} and out["gate"] == "kld<2"
    from gguf import GGUFReader

    types = {t.name: t.tensor_type.name for t in GGUFReader(out["artifact"]).tensors}
    assert types["token_embd.weight"] == "Q8_0" and types["blk.0.attn_q.weight"] == "Q4_0"   # exactly as recorded


@pytest.mark.slow
@needs_llama_tools
def test_predict_before_any_work_names_its_basis(use_warm_home):
    r = run_lqmf("predict", "smollm2", "--type", "Q3_K_M,Q8_0", "--json", timeout=600)
    assert r.returncode == 0, r.stderr
    q3, q8 = json.loads(r.stdout)
    assert q3["error"] > 10 * q8["error"] > 0 and q3["types"].get("q4_0")   # SmolLM2's 576-wide rows fall back
    assert "dry-run" in q3["basis"] and q3["size_bytes"] < q8["size_bytes"]


def test_the_chat_announces_a_finished_tune_with_its_answer():
    """The sentence for a finished tune job (its result as the tune job kind returns it)."""
    from lqmf.copilot.nodes.sync import describe_result

    row = {"status": "succeeded", "kind": "tune", "result": {
        "best": "Q6_K", "reason": "Q6_K is the smallest of 13 candidates that passes kld<=0.05",
        "trials": [{"candidate": "Q4_K_M"}, {"candidate": "Q6_K"}], "best_record": {"artifact": "/a/smollm2.Q6_K.gguf"}}}
    text = describe_result({"job_id": "j1", "tool": "tune", "model": "smollm2"}, row)
    assert text == ("Job j1 (tune smollm2) finished after 2 trials: Q6_K is the smallest of 13 candidates that "
                    "passes kld<=0.05, at /a/smollm2.Q6_K.gguf.")
