"""GPTQ through GPTQModel on CPU, on the bundled model, through the same
``quantize`` the CLI, the chat's jobs and sweeps call: a real GPTQ 4-bit
artifact that loads through transformers (with optimum) and through GPTQModel
to the same logits, benchmarked with the GGUF metrics; the compatibility check
declared by the backends; and the bad inputs (not installed, an architecture
or a matrix width it cannot take, too big for RAM, --force on a folder that
lqmf did not make), each one sentence with nothing left behind.

The real build is the suite's one (tests/conftest.gptq_built, shared with
test_gptq_options): 32 calibration samples of 64 tokens (the default is 128 of
128), with every option; on 2 busy cores a build still takes minutes, most of
it GPTQ's per-module work, which does not depend on the sample count."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from tests.conftest import partial_files, run_lqmf

HAVE_GPTQ = importlib.util.find_spec("gptqmodel") is not None and importlib.util.find_spec("optimum") is not None
needs_gptq = pytest.mark.skipif(not HAVE_GPTQ, reason="the gptq extra (gptqmodel, optimum) is not installed")
SMOLLM2_WIDTHS = {576, 1536}


# ---- the declaration (no gptqmodel needed) -----------------------------------------------------

def test_gptq_types_are_declared_with_the_bits_users_name():
    from lqmf.copilot.app.quants import types_for
    from lqmf.tools.quantize.registry import builtin

    reg = builtin()
    assert reg.types(reg.parse_method("gptq")) == ["GPTQ_4BIT", "GPTQ_8BIT", "GPTQ_3BIT", "GPTQ_2BIT",
                                                   "RTN_4BIT", "RTN_8BIT"]
    assert reg.parse_quant_type("gptq-4bit") == "GPTQ_4BIT" and reg.parse_method("autogptq").value == "gptq"
    assert types_for([], [4, 8], "gptq") == ["GPTQ_4BIT", "GPTQ_8BIT"]
    assert reg.pick(4) == "Q4_K_M"        # "4 bits" alone still means llama.cpp's pick


def test_group_size_is_the_first_declared_one_that_divides_every_width():
    """GPTQModel's CPU kernel needs the group size to divide each matrix's input width:
    smollm2's hidden size 576 takes 64 (576 = 4.5 x 128)."""
    from lqmf.tools.quantize.backends.gptq import BACKEND

    assert BACKEND.group_size(SMOLLM2_WIDTHS) == 64
    assert BACKEND.group_size({4096, 11008}) == 128
    assert BACKEND.incompatible("llama", SMOLLM2_WIDTHS) is None
    assert BACKEND.incompatible("llama", {576, 100}) == (
        "GPTQModel needs a group size that divides every matrix width (100, 576) and none of 128, 64, 32 does")
    assert "does not know the mamba architecture" in BACKEND.incompatible("mamba", SMOLLM2_WIDTHS)


def test_size_estimate_keeps_the_embeddings_in_float16():
    """Measured: GPTQ 4-bit g64 of smollm2 is 118.2 MB with its tokenizer (28.3M embedding
    parameters in bfloat16)."""
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.backends.gptq import BACKEND
    from lqmf.tools.quantize.model_shapes import read_shapes

    shapes = read_shapes(resolve("smollm2"))
    assert shapes.architecture == "llama" and shapes.in_features == SMOLLM2_WIDTHS
    est = BACKEND.estimate_bytes(134_515_008, BACKEND.types[0], shapes.dense_params)
    assert 105e6 < est < 125e6, est


def tiny_folder(path: Path, model_type: str, width: int) -> Path:
    """A safetensors HF folder with one matrix (no code, no pickle)."""
    import torch
    from safetensors.torch import save_file

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"architectures": ["X"], "model_type": model_type}))
    save_file({"model.embed_tokens.weight": torch.zeros(32, width),
               "model.layers.0.mlp.up_proj.weight": torch.zeros(width, width)}, path / "model.safetensors")
    return path


@pytest.mark.parametrize("model_type,width,says", [
    ("mamba", 128, "does not know the mamba architecture"),                  # not in GPTQModel's map
    ("llama", 100, "needs a group size that divides every matrix width (100)"),  # no group size divides 100
])
def test_a_model_gptq_cannot_take_is_one_sentence_before_any_work(tmp_path, model_type, width, says):
    from lqmf.tools.errors import ImpossibleJob
    from lqmf.tools.quantize import quantize

    folder = tiny_folder(tmp_path / "m", model_type, width)
    if not HAVE_GPTQ:
        pytest.skip("the readiness check (not installed) comes first")
    with pytest.raises(ImpossibleJob) as e:
        quantize(str(folder), "GPTQ_4BIT", out_dir=tmp_path / "out")
    assert f"gptq cannot quantize m: GPTQModel {says}" in str(e.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())   # not even a lock file


def test_not_installed_is_one_sentence_with_the_fix_fake_import_failure(monkeypatch, tmp_path):
    """Faked at the edge: Python's finder reports gptqmodel missing."""
    from lqmf.tools.errors import MissingComponent
    from lqmf.tools.quantize import quantize

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gptqmodel" else real(name, *a))
    with pytest.raises(MissingComponent) as e:
        quantize("smollm2", "GPTQ_4BIT", out_dir=tmp_path / "out")
    text = str(e.value)   # (optimum is named too where it is missing as well)
    assert "the GPTQModel backend needs gptqmodel" in text and "is not installed" in text
    assert "pip install 'lqmf[gptq]' && pip install --no-deps gptqmodel==7.6.0" in text
    assert not (tmp_path / "out").exists()


@needs_gptq
def test_too_big_for_ram_is_refused_before_loading_or_locking_fake_free_ram(monkeypatch, tmp_path):
    """Faked at the edge: the OS reports 100 MB available."""
    from lqmf.tools.errors import ImpossibleJob
    from lqmf.tools.fsutil import human_bytes
    from lqmf.tools.quantize import quantize, ram
    from lqmf.tools.quantize.backends.gptq import BACKEND

    monkeypatch.setattr(ram, "free_ram", lambda: 100 << 20)
    with pytest.raises(ImpossibleJob) as e:
        quantize("smollm2", "GPTQ_4BIT", out_dir=tmp_path / "out")
    assert f"GPTQModel needs about {human_bytes(BACKEND.ram_bytes(134_515_008))} of RAM" in str(e.value)
    assert not (Path(os.environ["LQMF_HOME"]) / "cache" / "dense").exists()         # nothing was loaded
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())  # no lock file either


def test_cli_bits_without_a_declared_type_is_one_sentence():
    r = run_lqmf("quantize", "smollm2", "--method", "gptq", "--bits", "5")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "no gptq type is declared for 5 bits" in r.stderr and "--bits 2 or 3 or 4 or 8" in r.stderr


def test_cli_bench_method_refuses_a_type_of_another_method():
    r = run_lqmf("bench", "smollm2", "--method", "bnb", "--type", "GPTQ_4BIT")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "unknown quant type 'GPTQ_4BIT'" in r.stderr and "NF4" in r.stderr


# ---- --force and folders -------------------------------------------------------------------------

def test_force_never_replaces_a_folder_lqmf_did_not_make(tmp_path):
    """A folder at the output path without our sidecar (or changed since) is the user's."""
    from lqmf.tools.errors import OutputInTheWay
    from lqmf.tools.quantize import ours, quantize

    out = tmp_path / "out"
    theirs = out / "smollm2.INT8"
    theirs.mkdir(parents=True)
    (theirs / "notes.txt").write_text("mine")
    assert not ours(theirs)
    with pytest.raises(OutputInTheWay, match="is a folder"):
        quantize("smollm2", "INT8", out_dir=out, force=True)
    assert (theirs / "notes.txt").read_text() == "mine"
    # a sidecar naming it is not enough: its manifest must match the folder as it is now
    (out / "smollm2.INT8.lqmf.json").write_text(json.dumps({"quant_type": "INT8",
                                                            "artifact_files": {"model.safetensors": 10}}))
    assert not ours(theirs)
    with pytest.raises(OutputInTheWay):
        quantize("smollm2", "INT8", out_dir=out, force=True)
    assert (theirs / "notes.txt").read_text() == "mine"


# ---- real builds (slow) ------------------------------------------------------------------------

@pytest.fixture
def gptq_home(gptq_built) -> Path:
    return gptq_built[0]


@pytest.fixture
def home(gptq_home, monkeypatch) -> Path:
    monkeypatch.setenv("LQMF_HOME", str(gptq_home))
    return gptq_home


@pytest.fixture
def built(gptq_built):
    """The suite's GPTQ 4-bit of smollm2 (tests/conftest.gptq_built: group size 32, act order, chat text)."""
    return gptq_built[1]


def probe(folder: Path):
    from transformers import AutoTokenizer

    from lqmf.tools.quantize.gptq_build import PROBE_TEXT

    return AutoTokenizer.from_pretrained(folder)(PROBE_TEXT, return_tensors="pt").input_ids[:, :12]


@needs_gptq
@pytest.mark.slow
def test_gptq_4bit_artifact_loads_through_transformers_and_gptqmodel_alike(home, built):
    import torch
    from safetensors import safe_open

    from lqmf.tools.quantize import manifest, ours, read_sidecar
    from lqmf.tools.quantize.gptq_build import load_hf, probe_logits

    art = built.artifact
    assert built.quant_type == "GPTQ_4BIT" and built.method == "gptq" and built.record.bits == 4
    assert art.name == "smollm2.GPTQ_4BIT.g32-act-cal-chat" and art.is_dir() and not list(art.glob("*.bin"))
    cfg = json.loads((art / "config.json").read_text())["quantization_config"]
    assert cfg["quant_method"] == "gptq" and cfg["bits"] == 4 and cfg["group_size"] == 32
    assert cfg["desc_act"] is True
    with safe_open(art / "model.safetensors", "pt") as f:
        keys = set(f.keys())
        qweight = f.get_tensor("model.layers.0.self_attn.q_proj.qweight")
        emb = f.get_tensor("model.embed_tokens.weight")
    assert {"model.layers.0.self_attn.q_proj.scales", "model.layers.0.self_attn.q_proj.qzeros"} <= keys
    assert qweight.dtype == torch.int32 and tuple(qweight.shape) == (576 // 8, 576)   # 8 weights an int32
    assert emb.dtype == torch.bfloat16        # the declared dense_bits: 16 (GPTQModel loads in bfloat16 on CPU)
    side = read_sidecar(art)
    assert side["gptqmodel"] == "7.6.0" and side["optimum"] == "2.3.0" and side["group_size"] == 32 and side["algorithm"] == "gptq"
    cal = side["calibration"]
    assert cal["text"] == "chat" and cal["samples"] == 32 and cal["tokens_each"] == 64
    check = side["reload_check"]
    assert check["max_abs_logit_diff"] <= check["tolerance"] and check["top10_vs_dense"] >= check["min_top10"]
    assert side["artifact_files"] == manifest(art) and ours(art)
    assert built.size_bytes == sum(f.stat().st_size for f in art.rglob("*") if f.is_file())
    assert not partial_files(art.parent)                              # nor GPTQModel's work folder
    assert not list(Path.cwd().glob("logs/*_log_*_time_*.log"))   # GPTQModel's ./logs went to our temp folder

    ids = probe(art)
    hf = probe_logits(load_hf(art), ids)
    dense = probe_logits(load_hf(Path(side["dense_path"])), ids)
    assert (hf - dense).abs().max().item() > 0                                    # really quantized
    # and still the model (measured with 32 x 64 calibration tokens: cosine 0.86, top-1 56 % on 16 tokens)
    cos = torch.nn.functional.cosine_similarity(hf[0], dense[0], dim=-1).mean().item()
    in_top10 = (torch.topk(dense[0], 10).indices == hf[0].argmax(-1)[:, None]).any(-1).float().mean().item()
    assert cos > 0.7 and in_top10 >= 0.5, (cos, in_top10)


@needs_gptq
@pytest.mark.slow
def test_gptq_benchmark_has_the_gguf_metrics(home, built):
    from lqmf.tools.benchmark import benchmark

    rec = benchmark(str(built.artifact), chunks=2, speed=True).record
    assert rec.method == "gptq" and rec.quant_type == "GPTQ_4BIT" and rec.status.value == "succeeded"
    assert rec.size_bytes == built.size_bytes and rec.eval_tokens == 2 * 255
    assert rec.base_ppl and rec.ppl and 0 < rec.kld_mean < 1 and 0 < rec.top1_pct < 100
    assert rec.load_s > 0 and rec.peak_rss_mb > 100 and rec.prompt_tok_s > rec.gen_tok_s > 0


@pytest.mark.slow
def test_force_rebuilds_a_folder_artifact_we_made(home, tmp_path):
    """On bitsandbytes INT8 (the quickest folder artifact): reused without --force, rebuilt with it,
    and the old folder is gone once the new one is in place."""
    pytest.importorskip("bitsandbytes")
    from lqmf.tools.quantize import ours, quantize

    first = quantize("smollm2", "INT8", out_dir=tmp_path / "out")
    assert ours(first.artifact)
    before = first.artifact.stat().st_mtime_ns
    assert quantize("smollm2", "INT8", out_dir=tmp_path / "out").artifact.stat().st_mtime_ns == before
    again = quantize("smollm2", "INT8", out_dir=tmp_path / "out", force=True)
    assert again.artifact == first.artifact and again.artifact.stat().st_mtime_ns != before and ours(again.artifact)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".smollm2.INT8.lock", "smollm2.INT8", "smollm2.INT8.lqmf.json"]


@needs_gptq
@pytest.mark.slow
def test_cli_quantize_gptq_json_stays_clean(home, built, tmp_path):
    """GPTQModel's progress bars go to its log: stdout holds only the JSON (the artifact is reused)."""
    r = run_lqmf("quantize", "smollm2", "--method", "gptq", "--bits", "4", "--group-size", "32", "--desc-act",
                 "--calibration", "chat", "--json", env={"LQMF_HOME": str(home)}, timeout=600)
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["quant_type"] == "GPTQ_4BIT" and row["method"] == "gptq" and Path(row["artifact"]) == built.artifact


@needs_gptq
@pytest.mark.slow
def test_a_failing_calibration_is_recorded_as_failed_and_leaves_nothing_fake_empty_calibration(home, tmp_path,
                                                                                              monkeypatch):
    """Faked: the calibration set comes back empty (as from a text with no usable window).
    GPTQModel refuses it; the run is one sentence, the journal holds the failed run with its
    error, and nothing is left. (Token ids past the vocabulary do not fail: GPTQModel 7.6
    replaces them with token 0 and quantizes. They once seemed to, when the 8-bit reload
    check compared the two loads in bfloat16; see gptq_build's docstring.)"""
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize import gptq_build, quantize
    from lqmf.tools.store.journal import journal

    real = gptq_build.calibration_set

    def empty(tok, *a, **kw):
        return [], real(tok, 4, 32)[1]

    monkeypatch.setattr(gptq_build, "calibration_set", empty)
    out = tmp_path / "out"
    with pytest.raises(LqmfError) as e:
        quantize("smollm2", "GPTQ_8BIT", out_dir=out)
    msg = str(e.value)
    assert "GPTQ_8BIT" in msg and ("so it was not kept" in msg or "with GPTQModel failed" in msg), msg
    rec = journal().all()[-1]
    assert rec.quant_type == "GPTQ_8BIT" and str(rec.status) == "failed" and "GPTQ_8BIT" in (rec.error or "")
    assert sorted(p.name for p in out.iterdir()) == [".smollm2.GPTQ_8BIT.lock"] and not partial_files(out)
