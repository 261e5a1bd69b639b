"""The GGUF engine end to end on the bundled model: source → F16 → Q8_0 and
Q4_K_M → benchmark, asserting real numbers."""
from __future__ import annotations

import json
import math

import pytest

from tests.conftest import partial_files, run_lqmf

pytestmark = pytest.mark.slow


def test_quantize_and_benchmark_bundled_model(use_warm_home):
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.quantize import quantize
    from lqmf.tools.store.journal import journal

    q8 = quantize("smollm2", "Q8_0")
    q4 = quantize("smollm2", "q4_k_m")  # loose spelling is accepted
    assert q4.quant_type == "Q4_K_M" and q4.method == "gguf"
    assert 0 < q4.size_bytes < q8.size_bytes
    f16 = benchmark("smollm2", chunks=3, speed=False).record
    b8 = benchmark(str(q8.artifact), chunks=3).record
    b4 = benchmark(str(q4.artifact), chunks=3).record
    for b in (b8, b4):
        assert math.isfinite(b.ppl) and b.base_ppl == pytest.approx(f16.ppl, rel=1e-6)
        assert abs(b.ppl_delta_pct) < 15, "a quant this good stays near the F16 perplexity"
        assert b.gen_tok_s > 1 and b.prompt_tok_s > 1 and b.peak_rss_mb > 50 and b.load_s > 0
        assert b.eval_tokens == 3 * 255 and b.threads >= 1
    assert 0 <= b8.kld_mean < b4.kld_mean
    assert b8.top1_pct > b4.top1_pct
    assert f16.kld_mean is not None and f16.kld_mean < 1e-3  # F16 against itself
    recs = [r for r in journal().all() if r.status == "succeeded"]
    assert {r.kind for r in recs} == {"quantize", "benchmark"}
    assert all(r.source_sha256 for r in recs if r.kind == "quantize")
    assert partial_files(use_warm_home) == []


def test_second_quant_reuses_cached_f16(use_warm_home):
    f16s = list((use_warm_home / "cache" / "f16").glob("smollm2-*.F16.gguf"))
    assert len(f16s) == 1
    before = f16s[0].stat().st_mtime_ns
    r = run_lqmf("quantize", "smollm2", "--type", "Q6_K", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)[0]
    assert out["quant_type"] == "Q6_K" and out["size_bytes"] > 0
    assert f16s[0].stat().st_mtime_ns == before
    assert len(list((use_warm_home / "cache" / "f16").glob("smollm2-*.F16.gguf"))) == 1


@pytest.mark.parametrize("qtype", ["Q5_K_M", "Q5_K_S", "Q4_K_S", "Q4_0", "Q3_K_M", "Q2_K", "IQ4_XS"])
def test_every_standard_type_quantizes(use_warm_home, qtype):
    from lqmf.tools.formats import read_gguf
    from lqmf.tools.quantize import quantize

    res = quantize("smollm2", qtype)
    info = read_gguf(res.artifact)  # a complete, readable GGUF
    assert info.architecture == "llama" and info.n_params > 100_000_000


def test_bench_cli_prints_quality_table_with_caveat(use_warm_home):
    r = run_lqmf("bench", "smollm2", "--type", "Q8_0", "--chunks", "2", "--no-speed")
    assert r.returncode == 0, r.stderr
    assert "mean KLD" in r.stdout and "Q8_0" in r.stdout
    assert "Q4_1" in r.stdout  # the caveat about the bundled model's source weights


def test_models_lists_artifacts(use_warm_home):
    r = run_lqmf("models", "--json")
    assert r.returncode == 0, r.stderr
    inv = json.loads(r.stdout)
    assert any(a["quant_type"] == "Q8_0" for a in inv["artifacts"])
    assert any(s["kind"] == "bundled" for s in inv["sources"])


def _dense_dir(home):
    """The dense HF copy of the bundled model (made by transformers on first use)."""
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.convert import dense_dir

    return dense_dir(resolve("smollm2"))


def test_hf_folder_and_cached_hub_id_quantize(use_warm_home, tmp_path):
    """A user's own HF folder (here: the dense copy of the bundled model), and
    the same files laid out as a hub id in a local Hugging Face cache."""
    import os

    from lqmf.tools.quantize.convert import DENSE_ORIGIN

    made = _dense_dir(use_warm_home)
    dense = tmp_path / "my-hf-model"  # a user's folder: no marker of ours, so the HF converter runs
    dense.mkdir()
    for f in made.iterdir():
        if f.name != DENSE_ORIGIN:
            os.symlink(f, dense / f.name)
    out = tmp_path / "quants"
    r = run_lqmf("quantize", str(dense), "--type", "Q4_K_M", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    art = json.loads(r.stdout)[0]["artifact"]
    assert art.startswith(str(out)) and art.endswith(".Q4_K_M.gguf")

    hub = tmp_path / "hf"
    snap = hub / "models--acme--tiny-llama" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (hub / "models--acme--tiny-llama" / "refs").mkdir()
    (hub / "models--acme--tiny-llama" / "refs" / "main").write_text("0123abcd")
    for f in dense.iterdir():
        os.symlink(f, snap / f.name)
    r = run_lqmf("quantize", "acme/tiny-llama", "--type", "Q8_0", "--json", env={"HF_HUB_CACHE": str(hub)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["artifact"].endswith("tiny-llama.Q8_0.gguf")
    r = run_lqmf("models", "--json")
    assert r.returncode == 0


def test_peak_rss_is_the_benchmark_process_own(use_warm_home):
    """A benchmark started from a process holding 1 GB must not report that GB
    (ru_maxrss after fork+exec would)."""
    import numpy as np

    from lqmf.tools.benchmark.speed import measure_in_subprocess
    from lqmf.tools.quantize import quantize

    art = quantize("smollm2", "Q8_0").artifact
    ballast = np.ones(125_000_000)  # 1 GB resident in this process
    sp = measure_in_subprocess(art, 2)
    assert ballast[-1] == 1.0
    assert 50 < sp.peak_rss_mb < 700
