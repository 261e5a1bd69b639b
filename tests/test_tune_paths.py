"""A tune that mixes methods under one gate (tools/tune/paths.py): one search per
runtime path (llama.cpp for GGUF, transformers for bitsandbytes / GPTQ), sizes
from each backend's own estimate for the model, and the pick of each path and
of all recorded. The fast tests run the search over recorded numbers (a measure
function standing in for trials: the search is pure logic); the slow one runs
real trials of both methods on the bundled model. Measured on 2 busy cores:
the four fast ones 0.2 s; the real tune 2.5 min with the warm home, the
prediction 40-90 s (torch and bitsandbytes import, under load)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import run_lqmf
from tests.tune_fixtures import needs_llama_tools, use_home_sharing_caches

# mean KLD per candidate, as measured on smollm2 (2 windows) or near it
KLD = {"Q8_0": 0.0046, "Q6_K": 0.010, "Q4_K_M": 0.062, "Q2_K": 0.41, "INT8": 0.002, "NF4": 0.07, "FP4": 0.12}


def _measured_by_recorded_numbers(gate, size_of, log):
    from lqmf.tools.tune.search import Trial

    def measure(batch):
        log.extend(c.key for c in batch)
        return [Trial(c.key, {"kld_mean": KLD[c.key], "size_bytes": int(size_of(c)), "method": c.method},
                      gate.check({"kld_mean": KLD[c.key]})) for c in batch]
    return measure


def test_sizes_across_methods_come_from_each_backends_estimate_for_the_model():
    """bitsandbytes keeps smollm2's 28M embedding parameters in float32: its 4-bit folder is
    larger than the 8-bit GGUF, so a size-ordered search must not take its bits at face value."""
    from lqmf.tools.tune.candidates import Candidate
    from lqmf.tools.tune.paths import size_estimator

    size_of = size_estimator("smollm2")
    sizes = {t: size_of(Candidate(t)) for t in ("Q8_0", "Q6_K", "Q4_K_M", "NF4", "INT8")}
    assert sizes["Q4_K_M"] < sizes["Q6_K"] < sizes["Q8_0"] < sizes["NF4"] < sizes["INT8"], sizes


def test_a_mix_of_methods_is_searched_per_path_and_answers_for_each_and_for_all():
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.tune.candidates import Candidate
    from lqmf.tools.tune.paths import search_paths, size_estimator
    from lqmf.tools.tune.predict import bpw_prior

    gate, size_of, log = parse_gate("kld<0.05"), size_estimator("smollm2"), []
    cands = [Candidate(t) for t in KLD]
    res = search_paths(cands, gate, _measured_by_recorded_numbers(gate, size_of, log), bpw_prior, size_of=size_of)
    assert set(res.paths) == {"llama.cpp", "transformers"}
    gguf, hf = res.paths["llama.cpp"], res.paths["transformers"]
    assert (gguf["best"], gguf["method"], gguf["methods"]) == ("Q6_K", "gguf", ["gguf"])
    assert (hf["best"], hf["method"], hf["methods"]) == ("INT8", "bnb", ["bnb"])
    assert res.best.candidate == "Q6_K"                          # the smaller of the two picks
    assert len(log) < len(cands) and len(set(log)) == len(log)   # early stopping on each path, no trial twice
    assert set(gguf["trials"]) | set(hf["trials"]) == set(log)
    d = res.to_dict()
    assert d["paths"] == res.paths and all(t["method"] for t in d["trials"])


def test_a_single_method_tune_is_the_plain_search():
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.tune.candidates import Candidate
    from lqmf.tools.tune.paths import search_paths
    from lqmf.tools.tune.predict import bpw_prior
    from lqmf.tools.tune.search import search

    gate, log1, log2 = parse_gate("kld<0.05"), [], []
    cands = [Candidate(t) for t in ("Q8_0", "Q6_K", "Q4_K_M", "Q2_K")]
    a = search_paths(cands, gate, _measured_by_recorded_numbers(gate, lambda c: c.bpw, log1), bpw_prior)
    b = search(cands, gate, _measured_by_recorded_numbers(gate, lambda c: c.bpw, log2), bpw_prior)
    assert log1 == log2 and a.best.candidate == b.best.candidate == "Q6_K" and list(a.paths) == ["llama.cpp"]


def test_methods_name_their_candidates_and_bad_mixes_are_one_sentence():
    from lqmf.tools.errors import InvalidInput, LqmfError
    from lqmf.tools.tune.args import check_tune_args
    from lqmf.tools.tune.candidates import default_candidates, parse_candidate

    keys = [c.key for c in default_candidates(methods=["gguf", "bnb"])]
    assert {"Q8_0", "Q4_K_M", "NF4", "NF4_DQ", "FP4", "FP4_DQ", "INT8"} <= set(keys)
    assert [c.key for c in default_candidates(methods=["bnb"])] == ["NF4", "NF4_DQ", "FP4", "FP4_DQ", "INT8"]
    assert default_candidates() == default_candidates(methods=["gguf"])
    with pytest.raises(InvalidInput, match="apply to GGUF types, not NF4"):
        parse_candidate("NF4@code")
    assert [c.key for c in default_candidates(methods=["awq"])] == ["AWQ_4BIT"]
    with pytest.raises(LqmfError, match="unknown method"):
        check_tune_args({"model": "smollm2", "gate": "kld<0.05", "methods": "gguf,zzz"})
    assert check_tune_args({"model": "smollm2", "gate": "kld<0.05", "methods": "gguf, bnb"})["methods"] == ["gguf", "bnb"]


@pytest.mark.slow
def test_the_transformers_path_types_are_predicted_by_their_own_quantizers(use_warm_home):
    """Before any trial: bitsandbytes' own CPU quantizer and GPTQ's round-to-nearest on the F16's
    sampled rows (tools/tune/hf_sim.py); the order is the one these methods are known for."""
    from lqmf.tools.tune.weights import f16_of, predict_error

    f16 = f16_of("smollm2")
    err = {t: predict_error(f16, t).error for t in ("INT8", "NF4", "NF4_DQ", "FP4", "RTN_4BIT", "GPTQ_4BIT")}
    assert 0 < err["INT8"] < err["GPTQ_4BIT"] < err["RTN_4BIT"] and err["NF4"] < err["FP4"], err
    assert abs(err["NF4_DQ"] / err["NF4"] - 1) < 0.05, err          # double quant: scales only


@pytest.mark.slow
@needs_llama_tools
def test_a_bnb_nf4_file_is_predicted_larger_than_gguf_q8_0(use_warm_home):
    """bitsandbytes keeps the embeddings in float32; the GGUF size is llama-quantize's own --dry-run."""
    from lqmf.tools.tune.weights import f16_of, predict_error

    f16 = f16_of("smollm2")
    assert predict_error(f16, "NF4").size_bytes > predict_error(f16, "Q8_0").size_bytes


@pytest.fixture
def tune_home(warm_home, tmp_path, monkeypatch):
    return use_home_sharing_caches(warm_home, tmp_path, monkeypatch)


@pytest.mark.slow
def test_a_real_tune_mixing_gguf_and_bitsandbytes_picks_per_path(tune_home):
    """Real trials (2 windows): Q6_K passes kld<0.05 on llama.cpp's path (Q8_0 is larger),
    INT8 on the transformers path; the template of the pick keeps its method."""
    env = {"LQMF_HOME": str(tune_home)}
    r = run_lqmf("tune", "smollm2", "--gate", "kld<0.05", "--candidates", "Q8_0,Q6_K,INT8", "--chunks", "2",
                 "--save-template", "mixed-pick", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["paths"]["llama.cpp"]["best"] == "Q6_K" and rep["paths"]["transformers"]["best"] == "INT8"
    assert rep["paths"]["transformers"]["method"] == "bnb" and rep["best"] == "Q6_K"
    assert {t["candidate"]: t["method"] for t in rep["trials"]} == {"Q6_K": "gguf", "INT8": "bnb"}
    hf = next(t for t in rep["trials"] if t["candidate"] == "INT8")
    assert hf["kld_mean"] < 0.05 and rep["paths"]["transformers"]["artifact"] == hf["artifact"]
    tpl = json.loads(run_lqmf("template", "mixed-pick", "--json", env=env).stdout)
    assert tpl["quant_type"] == "Q6_K" and tpl["method"] == "gguf"
