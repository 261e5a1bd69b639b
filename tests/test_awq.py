"""AWQ through GPTQModel on CPU, on the bundled model: the declaration (what the parser,
the chat and tune read from it), and one real 4-bit build with a small calibration set that
reloads through transformers and GPTQModel to the same logits (the build's own check) and is
benchmarked with the GGUF metrics. AWQ's scale search is slow on CPU whatever the sample
count (bench/awq_cpu_probe.py), so the suite pays for one build of 16 x 32 tokens."""
from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import gptqmodel_build, partial_files

HAVE_GPTQ = importlib.util.find_spec("gptqmodel") is not None and importlib.util.find_spec("optimum") is not None
needs_gptq = pytest.mark.skipif(not HAVE_GPTQ, reason="the gptq extra (gptqmodel, optimum) is not installed")


def test_awq_is_declared_once_and_read_everywhere_from_it():
    from lqmf.copilot.parser import parse
    from lqmf.tools.quantize.backends.awq import BACKEND
    from lqmf.tools.quantize.registry import builtin
    from lqmf.tools.tune.candidates import default_candidates

    reg = builtin()
    assert reg.types(reg.parse_method("awq")) == ["AWQ_4BIT"] and reg.pick(4, "awq") == "AWQ_4BIT"
    assert reg.pick(4) == "Q4_K_M"                       # "4 bits" alone is still llama.cpp's pick
    # a method and a width, as the contract has them; the chat takes the method's 4-bit pick
    assert parse("awq 4 bit gemma3-270m please", "builtin")["slots"] == {"model": "gemma3-270m", "method": "awq",
                                                                         "bits": 4}
    assert parse("quantize gemma3-270m to awq_4bit", "builtin")["slots"]["quant_type"] == "AWQ_4BIT"
    assert [c.key for c in default_candidates(methods=["awq"])] == ["AWQ_4BIT"]
    assert BACKEND.group_size({576, 1536}) == 64         # smollm2's widths, as for GPTQ
    assert "very slow on CPU" in (BACKEND.compat.expect or "")


@pytest.fixture(scope="module")
def awq_built(tmp_path_factory):
    return gptqmodel_build(tmp_path_factory.mktemp("awq-home"), "AWQ_4BIT", "awq", 16, 32)


@needs_gptq
@pytest.mark.slow
def test_awq_4bit_artifact_reloads_alike_and_is_benchmarked(awq_built, monkeypatch):
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.quantize import read_sidecar

    home, built = awq_built
    monkeypatch.setenv("LQMF_HOME", str(home))
    art = built.artifact
    assert built.quant_type == "AWQ_4BIT" and built.method == "awq" and art.is_dir()
    assert not list(art.glob("*.bin")) and not partial_files(art.parent)
    cfg = json.loads((art / "config.json").read_text())["quantization_config"]
    assert cfg["quant_method"] == "awq" and cfg["bits"] == 4 and cfg["group_size"] == 64
    side = read_sidecar(art)
    check = side["reload_check"]
    assert side["algorithm"] == "awq" and side["calibration"]["samples"] == 16
    assert check["max_abs_logit_diff"] <= check["tolerance"] and check["top10_vs_dense"] >= check["min_top10"]

    rec = benchmark(str(art), chunks=2).record
    assert rec.method == "awq" and rec.quant_type == "AWQ_4BIT" and rec.status.value == "succeeded"
    assert rec.base_ppl and rec.ppl and 0 < rec.kld_mean < 5 and 0 < rec.top1_pct <= 100
