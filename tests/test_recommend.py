"""Recommendations: the CLI on the machines of the issue, bad input, the
compatibility oracle in front of `lqmf quantize`, feedback, the eval gate,
and the memory fit against a real benchmark of the bundled model."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, partial_files, run_lqmf


def recommend_json(*args: str) -> dict:
    r = run_lqmf("recommend", *args, "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_creative_writing_on_an_8gb_gpu():
    got = recommend_json("creative writing", "--vram", "8")
    assert got["task"] == "creative" and got["hardware"]["kind"] == "gpu"
    top = got["options"][0]
    # public guidance: a 7-8B model at Q4_K_M/Q5_K_M, or a 3-4B at Q8_0
    assert (6.5 <= top["params_b"] <= 9.5 and top["quant_type"] in ("Q4_K_M", "Q5_K_M")) or \
           (3 <= top["params_b"] <= 4.5 and top["quant_type"] in ("Q8_0", "Q6_K")), top
    for o in got["options"]:
        assert o["memory_gb"] <= got["hardware"]["budget_gb"] and o["why"]
        assert o["where"] or o["fetch"].startswith("huggingface-cli download ")
        assert {"size_bytes", "gen_tok_s", "kld"} <= set(o["errors"])  # every prediction states its error
    assert any(o["where"] == "bundled" for o in got["options"])      # one to try at once


def test_a_laptop_without_gpu_keeps_headroom_and_speed():
    """The issue's "chatting on my laptop, no gpu, 8 GB of ram": not an 8B at Q5_K_M."""
    got = recommend_json("chat", "--ram", "8", "--device", "cpu")
    top = got["options"][0]
    assert got["hardware"]["kind"] == "cpu" and got["hardware"]["budget_gb"] <= 6.5
    assert top["params_b"] <= 4.5 and top["memory_gb"] <= 0.8 * 8
    assert top["gen_tok_s"] >= 5
    assert any("kept free" in n for n in got["notes"])


def test_raspberry_pi_5_json():
    got = recommend_json("code", "--device", "raspberry pi 5")
    assert got["hardware"]["name"] == "raspberry pi 5" and got["hardware"]["ram_gb"] == 8
    assert all("code" in o["why"] or "already on this machine" in o["why"] for o in got["options"])
    assert got["options"][0]["params_b"] <= 3.3


@pytest.mark.parametrize("args, needles", [
    (["juggling"], ["I don't know the task 'juggling'", "known tasks: chat"]),
    (["chat", "--device", "toaster"], ["I don't know the device 'toaster'", "raspberry pi 5", "rtx 3060"]),
    (["chat", "--model", "nope-7b"], ["'nope-7b' is not in my catalog and not a local model folder"]),
])
def test_unknown_task_device_or_model_is_one_sentence(args, needles):
    r = run_lqmf("recommend", *args, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0]


def test_a_70b_model_on_4gb_gives_the_nearest_and_what_fits_instead():
    got = recommend_json("chat", "--model", "llama-3.3-70b", "--vram", "4")
    near = got["nearest"][0]
    assert near["model"] == "llama-3.3-70b" and not near["fits"] and "needs about" in near["why"]
    assert got["options"] and all(o["fits"] and o["memory_gb"] <= 4 for o in got["options"])


def test_the_oracle_refuses_an_unsupported_architecture_before_any_work(tmp_path):
    d = tmp_path / "exotic"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({
        "architectures": ["ExoticNetForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 256}))
    (d / "model.safetensors").write_bytes(b"\0" * 16)
    home = tmp_path / "home"
    r = run_lqmf("quantize", str(d), "--type", "Q4_K_M", env={"LQMF_HOME": str(home)}, timeout=300)
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "llama.cpp's converter does not support the architecture ExoticNetForCausalLM" in r.stderr
    assert partial_files(tmp_path) == [] and not (home / "artifacts").exists()


def test_the_oracle_judges_a_new_backend_by_its_declaration_alone():
    """A backend the oracle has never seen (declared here, registered for this test only)."""
    from lqmf.tools.catalog import find
    from lqmf.tools.quantize.registry import ArtifactSpec, Backend, RamFactor, Requires, current, use
    from lqmf.tools.quantize.types import ArtifactFormat, Device, Layout, QuantMethod, QuantSpec
    from lqmf.tools.recommend.devices import resolve
    from lqmf.tools.recommend.oracle import check

    folder = ArtifactSpec(ArtifactFormat.SAFETENSORS, Layout.FOLDER, "", lambda p: None)
    gpu_only = Backend(name="test-gpu-only", method=QuantMethod.AWQ, build=lambda *a: {}, rank=90,
                       requires=Requires(ram=RamFactor(2.0, 0), device=Device.GPU), artifact=folder,
                       types=(QuantSpec("ZZ_TEST4", 4, 4.25, "a test type"),))
    unbuilt = Backend(name="test-unbuilt", method=QuantMethod.AWQ, build=None, rank=91,
                      requires=Requires(ram=RamFactor(2.0, 0)), artifact=folder,
                      types=(QuantSpec("ZZ_TEST8", 8, 8.25, "another"),))
    facts = find("qwen2.5-1.5b")
    with use(current().with_backend(gpu_only).with_backend(unbuilt)):
        on_cpu = check(facts, "ZZ_TEST4", resolve("cpu", ram_gb=16))
        on_gpu = check(facts, "ZZ_TEST4", resolve(None, vram_gb=24))
        unavailable = check(facts, "ZZ_TEST8", resolve(None, vram_gb=24))
    assert not on_cpu.ok and "needs a GPU" in on_cpu.sentence
    assert on_gpu.ok, on_gpu.sentence
    assert not unavailable.ok and "not available in this version" in unavailable.sentence


def test_feedback_changes_the_stored_preference_and_the_next_answer(tmp_path, monkeypatch):
    from lqmf.copilot.app import App
    from lqmf.copilot.app import recommend as rec

    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    app = App(open_store=lambda: None)
    first = rec.recommend(app, "chat", ram_gb=16, device="laptop")
    slow = rec.feedback(app, "too_slow")
    assert "speed" in slow.changed and "tok/s" in slow.changed
    assert slow.rows[0]["gen_tok_s"] > first.rows[0]["gen_tok_s"]
    again = rec.recommend(app, "chat", ram_gb=16, device="laptop")   # a later request: still faster
    assert again.rows[0]["gen_tok_s"] >= slow.rows[0]["gen_tok_s"] * 0.99
    rated = rec.feedback(app, "rating", 1)
    assert "rated 1/5" in rated.changed
    assert (rated.rows[0]["model"], rated.rows[0]["quant_type"]) != (again.rows[0]["model"], again.rows[0]["quant_type"])
    assert rec.read_feedback("that's way too lossy") == ("too_lossy", None)
    assert rec.read_feedback("I'd rate it 4/5") == ("rating", 4)


def test_recommendation_eval_meets_its_bar():
    r = subprocess.run([sys.executable, "evals/recommend/run_eval.py", "--min-hit", "0.9"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "top-3 hit rate" in r.stdout


@pytest.mark.slow
def test_memory_fit_against_a_real_benchmark_of_the_bundled_model(use_warm_home):
    """A real benchmark's peak RSS, and the same engine at a 4096-token context."""
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.catalog import find
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.recommend.memfit import MIB, estimate

    artifact = next((use_warm_home / "artifacts" / "smollm2").glob("smollm2.Q8_0.gguf"))
    rec = benchmark(str(artifact), chunks=1).record
    facts, spec = find("smollm2"), current().spec("Q8_0")
    size = artifact.stat().st_size
    assert rec.peak_rss_mb
    assert abs(estimate(facts, spec, 576, weights=size).total / MIB / rec.peak_rss_mb - 1) <= 0.10
    out = subprocess.run([sys.executable, "evals/recommend/rss_probe.py", json.dumps({"model": str(artifact), "ctx": 4096})],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    measured = json.loads(out.stdout)["peak_rss_mb"]
    assert abs(estimate(facts, spec, 4096, weights=size).total / MIB / measured - 1) <= 0.10


@pytest.mark.slow
def test_predictions_state_the_error_measured_on_held_out_runs(warm_home, tmp_path, monkeypatch):
    """Real benchmarks fill a store (a copy of the warm home); the recommendation's size
    prediction then states its error as measured on those runs held out, within the bar."""
    import shutil

    from lqmf.copilot.app import App
    from lqmf.copilot.app import recommend as rec

    home = tmp_path / "home"
    shutil.copytree(warm_home, home, symlinks=True)
    r = run_lqmf("bench", "smollm2", "--type", "Q8_0,Q4_K_M", "--chunks", "1", "--json",
                 env={"LQMF_HOME": str(home)}, timeout=900)
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("LQMF_HOME", str(home))
    advice = rec.recommend(App(), "chat", model="smollm2", ram_gb=8, device="cpu")
    err = advice.rows[0]["errors"]["size_bytes"]
    assert err["measured"] and err["error_pct"] <= 15, err
    out = subprocess.run([sys.executable, "evals/recommend/predict_eval.py", "--home", str(home)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "size with a run of the family in the store" in out.stdout, out.stdout + out.stderr


def test_a_past_failure_in_the_store_is_named_record_built_here():
    """The store row is built here (the oracle reads records, not the store)."""
    from lqmf.tools.catalog import find
    from lqmf.tools.recommend.devices import resolve
    from lqmf.tools.recommend.oracle import check
    from lqmf.tools.recommend.predict import History
    from lqmf.tools.store.records import ExperimentRecord

    failed = ExperimentRecord(kind="quantize", status="failed", model="smollm2", model_name="smollm2",
                              quant_type="Q4_K_M", error="llama.cpp could not quantize smollm2.F16.gguf to Q4_K_M (code 1).")
    h = History.of([failed])
    v = check(find("smollm2"), "Q4_K_M", resolve("cpu", ram_gb=8), records=h.failures, from_gguf=True)
    assert v.ok and v.cautions[-1] == "it failed here before: " + failed.error
    assert not check(find("smollm2"), "Q8_0", resolve("cpu", ram_gb=8), records=h.failures, from_gguf=True).cautions
