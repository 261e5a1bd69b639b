"""Quality gates: the grammar (one sentence for a malformed gate), saved gates,
and a run that fails its gate marked rejected in the store and never picked."""
from __future__ import annotations

import json

import pytest

from tests.conftest import run_lqmf
from tests.tune_fixtures import use_home_sharing_caches


@pytest.fixture
def tune_home(warm_home, tmp_path, monkeypatch):
    return use_home_sharing_caches(warm_home, tmp_path, monkeypatch)


@pytest.mark.parametrize("text,conds", [
    ("kld<0.05", [("kld_mean", "<", 0.05)]),
    ("kld<0.05,ppl_delta<3%,tok_s>50,size<1GB",
     [("kld_mean", "<", 0.05), ("ppl_delta_pct", "<", 3.0), ("gen_tok_s", ">", 50.0), ("size_bytes", "<", 1e9)]),
    (" size <= 200MiB , top1>=90% ", [("size_bytes", "<=", 200 * 2**20), ("top1_pct", ">=", 90.0)]),
    ("kld_mean<1e-3", [("kld_mean", "<", 0.001)]),        # a record field name works too
])
def test_gate_grammar(text, conds):
    from lqmf.tools.gates import parse_gate

    g = parse_gate(text)
    assert [(c.metric.value, c.op.value, c.value) for c in g.conditions] == conds


@pytest.mark.parametrize("bad", ["kld<<0.05", "kld 0.05", "foo<1", "size<1parsec", "kld<0.05,,tok_s", ","])
def test_a_malformed_gate_is_one_sentence_showing_the_grammar(bad):
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.gates import GRAMMAR, parse_gate

    with pytest.raises(InvalidInput) as e:
        parse_gate(bad)
    assert GRAMMAR in str(e.value) and "\n" not in str(e.value)


def test_a_gate_says_which_condition_failed_and_what_was_measured():
    from lqmf.tools.gates import parse_gate

    g = parse_gate("kld<0.05,size<100MB,tok_s>50")
    assert g.check({"kld_mean": 0.01, "size_bytes": 5e7, "gen_tok_s": 80}) is None
    assert g.check({"kld_mean": 0.2, "size_bytes": 5e7}) == "kld<0.05 (KLD 0.2000); tok_s>50 (not measured)"


def test_malformed_gate_on_the_command_line_before_any_work():
    for cmd in (["tune", "smollm2", "--gate", "kld<<1"], ["bench", "smollm2", "--type", "Q8_0", "--gate", "kl"],
                ["quantize", "smollm2", "--type", "Q8_0", "--gate", "size<1parsec"]):
        r = run_lqmf(*cmd, timeout=120)
        assert r.returncode == 2 and "a gate is conditions separated by commas" in r.stderr, (cmd, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_saved_gates_and_their_names(tmp_path):
    r = run_lqmf("gate", "default", "kld<0.05, size<1GB")
    assert r.returncode == 0 and "kld<0.05,size<1GB" in r.stdout
    from lqmf.copilot.app import gates

    assert gates.saved() == {"default": "kld<0.05,size<1GB"}
    assert gates.parse("default").text == gates.parse(None, use_default=True).text == "kld<0.05,size<1GB"
    assert gates.from_slots({"max_kld": 0.05, "max_size_gb": 1}) == "kld<=0.05,size<=1GB"


@pytest.mark.slow
def test_a_run_that_fails_its_gate_is_marked_rejected_and_never_picked(tune_home):
    """Real quantize + benchmark (2 windows): Q8_0 passes kld<0.05, Q4_0 (KLD ≈ 0.3 on this model)
    fails it; both are in the store, the failed one marked, and a ranking leaves it out."""
    env = {"LQMF_HOME": str(tune_home)}
    r = run_lqmf("quantize", "smollm2", "--type", "Q8_0,Q4_0", "--gate", "kld<0.05", "--chunks", "2", "--json",
                 env=env)
    assert r.returncode == 1, r.stderr          # one failed its gate
    out = {x["quant_type"]: x for x in json.loads(r.stdout)}
    assert out["Q8_0"]["rejected"] is False and out["Q4_0"]["rejected"] is True
    assert out["Q4_0"]["gate_failed"].startswith("kld<0.05 (KLD ")
    from lqmf.copilot.app import App
    from lqmf.copilot.app.query import rows

    app = App()
    benches = [r for r in app.store().all() if r.kind == "benchmark"]
    marked = {r.quant_type: r.gate_failed for r in benches}
    assert marked["Q8_0"] is None and marked["Q4_0"]
    assert all(r.gate == "kld<0.05" for r in benches)
    listed, _ = rows(app, {"model": "smollm2"})                   # a listing shows both
    assert {r["quant_type"] for r in listed if r["kind"] == "benchmark"} == {"Q8_0", "Q4_0"}
    ranked, _ = rows(app, {"model": "smollm2", "sort": "size", "order": "asc"})   # a pick: "the smallest"
    assert [r["quant_type"] for r in ranked if r["kind"] == "benchmark"] == ["Q8_0"]
    assert {r["quant_type"] for r in ranked} == {"Q8_0"}     # nor the quantize run of the rejected Q4_0
    from lqmf.copilot.app.sweep import Goal, best_within

    assert best_within([r.to_dict() for r in benches], Goal()).quant_type == "Q8_0"   # the smaller Q4_0 is rejected


@pytest.mark.slow
def test_a_queued_gated_quantize_rejects_and_the_artifact_stays_rejected_until_a_gate_passes_it(tune_home):
    """--queue takes --gate and --chunks (the job's spec); the worker quantizes and benchmarks
    (real engines, 2 windows). A later benchmark without a gate carries the rejection (and is
    not picked); a benchmark with a gate it passes clears it; `lqmf models` shows the standing."""
    env = {"LQMF_HOME": str(tune_home)}
    r = run_lqmf("quantize", "smollm2", "--type", "Q4_0", "--gate", "kld<0.05", "--chunks", "2", "--queue",
                 "--json", env=env)
    assert r.returncode == 0, r.stderr
    [jid] = json.loads(r.stdout)["queued"]
    run_lqmf("worker", "--drain", env=env, timeout=900)
    job = json.loads(run_lqmf("jobs", "show", jid, "--json", env=env).stdout)
    assert job["state"] == "succeeded", job
    res = job["result"]
    assert res["rejected"] is True and res["gate"] == "kld<0.05" and res["bench"]["kld_mean"] > 0.05
    art, judged = res["artifact"], res["bench"]["id"]
    r = run_lqmf("bench", art, "--chunks", "2", "--no-speed", "--json", env=env)
    assert r.returncode == 0, r.stderr              # no gate asked now: shown, not an error
    [rec] = json.loads(r.stdout)
    assert rec["gate"] == "kld<0.05" and rec["gate_failed"].endswith(f"(judged by run {judged})")
    from lqmf.copilot.app import App
    from lqmf.copilot.app.query import rows

    ranked, _ = rows(App(), {"model": "smollm2", "sort": "size", "order": "asc"})
    assert not [x for x in ranked if x["artifact"] == art]   # no run of it: its quantize, either benchmark
    [a] = [a for a in json.loads(run_lqmf("models", "--json", env=env).stdout)["artifacts"] if a["path"] == art]
    assert a["gate"] == "kld<0.05" and a["rejected"].startswith("kld<0.05 (KLD ") and a["judged_by"] == judged
    r = run_lqmf("bench", art, "--chunks", "2", "--no-speed", "--gate", "kld<1", "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)[0]["gate_failed"] is None, r.stderr
    [a] = [a for a in json.loads(run_lqmf("models", "--json", env=env).stdout)["artifacts"] if a["path"] == art]
    assert a["gate"] == "kld<1" and a["rejected"] is None
    ranked, _ = rows(App(), {"model": "smollm2", "sort": "size", "order": "asc"})
    assert {x["kind"] for x in ranked if x["artifact"] == art} == {"quantize", "benchmark"}   # a pick again
