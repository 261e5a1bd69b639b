"""GPTQ's options (--group-size, --desc-act, --calibration) and GPTQ checkpoints
lqmf did not make as benchmark inputs. The fast tests check the options and the
refusals before any work; the slow ones build 8-bit GPTQ of the bundled model
with the options (the bit width whose reload check used to fail, see
gptq_build's docstring) and benchmark a copy of it without our sidecar."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import partial_files, run_lqmf

HAVE_GPTQ = importlib.util.find_spec("gptqmodel") is not None and importlib.util.find_spec("optimum") is not None
needs_gptq = pytest.mark.skipif(not HAVE_GPTQ, reason="the gptq extra (gptqmodel, optimum) is not installed")


# ---- the options, checked -------------------------------------------------------------------------

@pytest.mark.parametrize("recipe,says", [
    ({"group_size": "100"}, "--group-size 100 is not a group size GPTQModel takes"),     # not a kernel size
    ({"group_size": "sixty"}, "--group-size sixty is not a group size GPTQModel takes"),
    ({"desc_act": "maybe"}, "desc_act 'maybe' is neither true nor false"),
    ({"calibration": "poetry"}, "'poetry' is neither a calibration use nor a text file"),  # the imatrix's names
])
def test_a_bad_option_is_one_sentence(recipe, says):
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.quantize.recipe import normalize

    with pytest.raises(InvalidInput) as e:
        normalize(recipe)
    assert says in str(e.value)


def test_options_normalize_and_name_the_artifact():
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize import artifact_path
    from lqmf.tools.quantize.recipe import normalize

    r = normalize({"group_size": "032", "desc_act": "yes", "calibration": "code"})
    assert r == {"group_size": "32", "desc_act": "true", "calibration": "code"}
    assert artifact_path(resolve("smollm2"), "GPTQ_4BIT", "/x", recipe=r).name == "smollm2.GPTQ_4BIT.g32-act-cal-code"
    assert artifact_path(resolve("smollm2"), "GPTQ_4BIT", "/x", recipe=normalize({"group_size": -1})).name == \
        "smollm2.GPTQ_4BIT.grow"


@pytest.mark.parametrize("qtype,recipe,says", [
    ("Q4_K_M", {"group_size": "64"}, "--group-size, --desc-act and --calibration apply to GPTQ types, not Q4_K_M"),
    ("NF4", {"calibration": "chat"}, "apply to GPTQ types, not NF4"),
    ("GPTQ_4BIT", {"imatrix": "chat"}, "an importance matrix or tensor overrides apply to GGUF types, not GPTQ_4BIT"),
    ("RTN_4BIT", {"calibration": "chat"}, "RTN_4BIT is round-to-nearest: it has no calibration"),
    ("RTN_8BIT", {"desc_act": "true"}, "RTN_8BIT is round-to-nearest"),
])
def test_an_option_of_another_method_is_refused_before_any_work(tmp_path, qtype, recipe, says):
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.quantize import quantize

    with pytest.raises(InvalidInput) as e:
        quantize("smollm2", qtype, out_dir=tmp_path / "out", recipe=recipe)
    assert says in str(e.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags,says", [
    (["--type", "Q4_K_M", "--group-size", "32"], "apply to GPTQ types, not Q4_K_M"),
    (["--type", "RTN_4BIT", "--desc-act"], "RTN_4BIT is round-to-nearest"),
    (["--type", "NF4", "--imatrix", "code"], "apply to GGUF types, not NF4"),
])
def test_a_queued_job_with_an_option_of_another_method_is_refused_at_submission(flags, says):
    r = run_lqmf("quantize", "smollm2", *flags, "--queue")
    assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr
    jobs = run_lqmf("jobs", "--json")
    assert jobs.returncode == 0 and json.loads(jobs.stdout) == []   # nothing was queued


@needs_gptq
def test_a_group_size_that_does_not_divide_the_widths_is_refused_with_the_ones_that_do(tmp_path):
    """smollm2's hidden size 576 is 4.5 x 128: GPTQModel's CPU kernels need whole groups."""
    from lqmf.tools.errors import InvalidInput
    from lqmf.tools.quantize import quantize

    with pytest.raises(InvalidInput) as e:
        quantize("smollm2", "GPTQ_4BIT", out_dir=tmp_path / "out", recipe={"group_size": "128"})
    assert "--group-size 128 does not divide every matrix width of smollm2 (576, 1536)" in str(e.value)
    assert "use 64 or 32" in str(e.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_cli_flags_are_checked_before_any_work():
    r = run_lqmf("quantize", "smollm2", "--method", "gptq", "--bits", "4", "--group-size", "48")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--group-size 48 is not a group size GPTQModel takes" in r.stderr and "-1, 16, 32" in r.stderr
    r = run_lqmf("bench", "smollm2", "--type", "Q8_0", "--calibration", "nowhere.txt")
    assert r.returncode != 0 and "'nowhere.txt' is neither a calibration use nor a text file" in r.stderr


class _WordTokenizer:
    """Faked at the edge: a tokenizer that makes one token per word (the window arithmetic only)."""

    def __call__(self, text, add_special_tokens=False):
        class Out:
            input_ids = list(range(len(text.split())))
        return Out()


def test_a_calibration_text_is_cut_into_evenly_spread_windows_fake_word_tokenizer():
    from lqmf.knowledge.calibration import load
    from lqmf.tools.quantize.gptq_build import calibration_set

    words = len(load("creative").path.read_text().split())   # 712: shorter than 128 x 128, so they overlap
    cal, facts = calibration_set(_WordTokenizer(), 128, 128, corpus="creative")
    assert len(cal) == 128 and all(len(c["input_ids"]) == 128 == len(c["attention_mask"]) for c in cal)
    assert facts["text"] == "creative" and facts["tokens"] == words and facts["overlapping"]
    assert cal[0]["input_ids"][0] == 0 and cal[-1]["input_ids"][-1] <= words - 1
    assert len({c["input_ids"][0] for c in cal}) > 100                       # spread, not one window repeated
    assert len(facts["sha256"]) == 64


def test_a_calibration_text_too_short_is_one_sentence(tmp_path):
    from lqmf.tools.errors import ImpossibleJob
    from lqmf.tools.quantize.gptq_build import calibration_set

    short = tmp_path / "short.txt"
    short.write_text("only a few words here")
    with pytest.raises(ImpossibleJob, match="the calibration text short has 5 tokens, fewer than two samples of 128"):
        calibration_set(_WordTokenizer(), 128, 128, corpus=str(short))


# ---- checkpoints lqmf did not make -----------------------------------------------------------------

def checkpoint(folder: Path, qc: dict | None, quantize_config: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    if qc is not None:
        cfg["quantization_config"] = qc
    (folder / "config.json").write_text(json.dumps(cfg))
    if quantize_config is not None:
        (folder / "quantize_config.json").write_text(json.dumps(quantize_config))
    return folder


def test_a_gptq_checkpoint_says_its_type_and_settings(tmp_path):
    from lqmf.tools.quantize.checkpoint import foreign_gptq, gptq_facts

    f = checkpoint(tmp_path / "theirs", {"quant_method": "gptq", "bits": 3, "group_size": 128, "desc_act": True,
                                         "sym": True, "checkpoint_format": "gptq", "meta": {"quantizer": ["x:1"]}})
    assert foreign_gptq(f)
    facts = gptq_facts(f)
    assert facts["quant_type"] == "GPTQ_3BIT" and facts["method"] == "gptq"
    assert facts["recipe"] == {"group_size": "128", "desc_act": "true"}
    assert facts["checkpoint"] == {"format": "gptq", "sym": True, "quantizer": ["x:1"]}
    assert not foreign_gptq(checkpoint(tmp_path / "awq", {"quant_method": "awq", "bits": 4}))
    assert not foreign_gptq(checkpoint(tmp_path / "dense", None))


@pytest.mark.parametrize("qc,quantize_config,says", [
    (None, {"bits": 4, "group_size": 128}, "has auto-gptq's quantize_config.json but no quantization_config"),
    ({"quant_method": "gptq", "bits": 5}, None, "is a GPTQ checkpoint of 5 bits; lqmf benchmarks 2, 3, 4, 8-bit"),
])
def test_a_gptq_checkpoint_it_cannot_run_is_one_sentence(tmp_path, qc, quantize_config, says):
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.errors import InvalidInput

    f = checkpoint(tmp_path / "theirs", qc, quantize_config)
    with pytest.raises(InvalidInput) as e:
        benchmark(str(f), chunks=1, speed=False)
    assert says in str(e.value)


def test_options_do_not_apply_to_a_checkpoint(tmp_path):
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.errors import InvalidInput

    f = checkpoint(tmp_path / "theirs", {"quant_method": "gptq", "bits": 4})
    with pytest.raises(InvalidInput, match="theirs is already quantized: options of how to quantize do not apply"):
        benchmark(str(f), chunks=1, speed=False, recipe={"group_size": "32"})


# ---- real builds (slow) --------------------------------------------------------------------------

@needs_gptq
@pytest.mark.slow
def test_gptq_with_options_passes_the_reload_check_and_records_them(gptq_built, monkeypatch):
    """The suite's one GPTQ build (tests/conftest.gptq_built): 4-bit, group size 32, act order, chat text."""
    from lqmf.tools.quantize import read_sidecar
    from lqmf.tools.store.journal import journal

    home, res = gptq_built
    art = res.artifact
    assert art.name == "smollm2.GPTQ_4BIT.g32-act-cal-chat" and not partial_files(art.parent)
    cfg = json.loads((art / "config.json").read_text())["quantization_config"]
    assert cfg["bits"] == 4 and cfg["group_size"] == 32 and cfg["desc_act"] is True
    side = read_sidecar(art)
    assert side["recipe"] == {"group_size": "32", "desc_act": "true", "calibration": "chat"}
    assert side["group_size"] == 32 and side["desc_act"] is True
    assert side["calibration"]["text"] == "chat" and side["calibration"]["samples"] == 32
    check = side["reload_check"]
    assert check["dtype"] == "float16" and check["max_abs_logit_diff"] <= check["tolerance"]
    assert res.record.recipe == side["recipe"]
    monkeypatch.setenv("LQMF_HOME", str(home))
    stored = [r for r in journal().all() if r.id == res.record.id]   # the data dir is shared with test_gptq's runs
    assert [r.recipe for r in stored] == [side["recipe"]]          # the store has it too


@needs_gptq
@pytest.mark.slow
def test_a_gptq_checkpoint_without_our_sidecar_is_benchmarked_against_a_base(gptq_built, tmp_path, monkeypatch):
    """A copy of the GPTQ folder without its sidecar is a checkpoint someone else made."""
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.quantize import read_sidecar

    home, res = gptq_built
    monkeypatch.setenv("LQMF_HOME", str(home))
    theirs = tmp_path / "their-gptq"
    shutil.copytree(res.artifact, theirs)
    f16 = read_sidecar(res.artifact)["f16_path"]
    rec = benchmark(str(theirs), chunks=1, speed=False, base=f16).record
    assert str(rec.status) == "succeeded" and rec.quant_type == "GPTQ_4BIT" and rec.method == "gptq"
    assert rec.model_name == "their-gptq" and rec.recipe == {"group_size": "32", "desc_act": "true"}
    assert rec.ppl and rec.kld_mean is not None and 0 < rec.kld_mean < 1 and 0 < rec.top1_pct < 100
    without = benchmark(str(theirs), chunks=1, speed=False).record     # no base: perplexity only
    assert without.ppl == pytest.approx(rec.ppl) and without.kld_mean is None
