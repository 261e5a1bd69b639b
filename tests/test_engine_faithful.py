"""Issue [6]: both bundled models, faithful GGUF→F16, the build, the doctor,
and an engine crash reported as a sentence."""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time

import pytest

from tests.conftest import partial_files, run_lqmf

BUNDLED = ["smollm2", "gemma3-270m"]


@pytest.mark.parametrize("name,expected", [
    ("gemma-3-270m-q4_k_m.gguf", "gemma-3-270m"),          # quant suffix after a dash, lower case
    ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m-instruct"),
    ("Llama-3.2-1B-Instruct-IQ4_XS.gguf", "llama-3.2-1b-instruct"),
    ("mistral-7b-instruct-v0.2.Q5_K_M.gguf", "mistral-7b-instruct-v0.2"),  # the version stays
    ("qwen2.5-0.5b-instruct-fp16.gguf", "qwen2.5-0.5b-instruct"),
    ("my_model_Q8_0.gguf", "my-model"),                       # underscore separator
    ("gemma-2-2b-it-Q6_K_L.gguf", "gemma-2-2b-it"),           # bartowski-style _L suffix
    ("qwen2-7b.gguf", "qwen2-7b"),                            # no suffix: nothing stripped
])
def test_model_name_from_file_strips_quant_suffix_in_any_spelling(name, expected):
    from lqmf.tools.models import name_from_file

    assert name_from_file(name) == expected


@pytest.mark.slow
@pytest.mark.parametrize("model", BUNDLED)
def test_gguf_to_f16_keeps_tokenizer_and_metadata_byte_for_byte(model, use_warm_home):
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.convert import f16_gguf

    src = resolve(model)
    f16 = f16_gguf(src)
    ra, rb = GGUFReader(src.path), GGUFReader(f16)
    fa = {k: (f.types, [bytes(p) for p in f.parts]) for k, f in ra.fields.items() if not k.startswith("GGUF.")}
    fb = {k: (f.types, [bytes(p) for p in f.parts]) for k, f in rb.fields.items() if not k.startswith("GGUF.")}
    assert list(fa) == list(fb), "same keys, same order"
    changed = [k for k in fa if fa[k] != fb[k]]
    assert changed == ["general.file_type"], changed
    assert int(rb.fields["general.file_type"].parts[-1][0]) == 1  # MOSTLY_F16
    assert [t.name for t in ra.tensors] == [t.name for t in rb.tensors]
    for ta, tb in zip(ra.tensors, rb.tensors):
        assert list(ta.shape) == list(tb.shape)
        if int(ta.tensor_type) in (0, 1, 30):  # F32/F16/BF16 copied unchanged
            assert tb.tensor_type == ta.tensor_type and bytes(ta.data) == bytes(tb.data)
        else:
            assert tb.tensor_type.name == "F16"
            want = dequantize(np.asarray(ta.data), ta.tensor_type).astype(np.float16)
            assert np.array_equal(want.view(np.uint16).reshape(-1), np.asarray(tb.data).view(np.uint16).reshape(-1))
    # llama.cpp tokenizes the evaluation text identically from both files
    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.llamacpp.runtime import vocab_tokenize

    text = evaldata.load().text[:20000]
    assert vocab_tokenize(src.path, text) == vocab_tokenize(f16, text)


@pytest.mark.slow
def test_second_bundled_model_quantizes_and_benchmarks(use_warm_home):
    r = run_lqmf("quantize", "gemma3-270m", "--type", "Q8_0", "--json")
    assert r.returncode == 0, r.stderr
    art = json.loads(r.stdout)[0]["artifact"]
    assert art.endswith("gemma3-270m.Q8_0.gguf")
    r = run_lqmf("bench", art, "--chunks", "2", "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)[0]
    assert rec["architecture"] == "gemma3" and rec["family"] == "gemma3"
    assert math.isfinite(rec["ppl"]) and 0 <= rec["kld_mean"] < 0.05 and rec["top1_pct"] > 85
    assert rec["gen_tok_s"] > 1 and rec["prompt_tok_s"] > 1 and rec["threads"] >= 1
    assert rec["eval_tokens"] == 2 * 255
    # the baseline cache is bounded for a 262k vocabulary: a head and tail samples, not the whole distribution
    from lqmf.tools.benchmark.quality import bytes_per_scored_token

    base = [p for p in (use_warm_home / "cache" / "baseline").iterdir() if p.is_dir()
            and "gemma3" in json.loads((p / "meta.json").read_text())["f16"]]
    assert len(base) == 1
    size = sum(f.stat().st_size for f in base[0].iterdir())
    assert size < 2 * 255 * bytes_per_scored_token() + 64 * 1024
    assert partial_files(use_warm_home) == []


@pytest.mark.slow
def test_dense_folder_of_a_gguf_shares_its_f16_cache_entry(use_warm_home):
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.convert import dense_dir, f16_path

    src = resolve("smollm2")
    dense = dense_dir(src)
    assert f16_path(resolve(str(dense))) == f16_path(src)


@pytest.mark.slow
def test_engine_killed_by_sigsegv_is_one_sentence_naming_the_signal_and_doctor(use_warm_home):
    import psutil

    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize import quantize
    from lqmf.tools.store.journal import journal

    art = quantize("smollm2", "Q8_0").artifact
    box: dict = {}

    def run():
        try:
            benchmark(str(art), chunks=2)
        except LqmfError as e:
            box["err"] = e

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 120
    killed = False
    while time.time() < deadline and not killed and t.is_alive():
        for child in psutil.Process().children(recursive=True):
            try:
                if "lqmf.tools.benchmark.engine" in " ".join(child.cmdline()):
                    os.kill(child.pid, signal.SIGSEGV)
                    killed = True
                    break
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.05)
    t.join(300)
    assert killed, "the engine child was never seen"
    msg = str(box["err"])
    assert "SIGSEGV" in msg and "lqmf doctor" in msg and "\n" not in msg
    last = [r for r in journal().all() if r.kind == "benchmark"][-1]
    assert last.status == "failed" and "SIGSEGV" in (last.error or "")


@pytest.mark.slow
def test_doctor_self_checks_both_bundled_models():
    r = run_lqmf("doctor", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"] is True
    assert {c["model"] for c in rep["checks"]} == set(BUNDLED)
    assert all(c["ok"] for c in rep["checks"])
    assert rep["llama"]["matches_cpu"] and not rep["llama"]["amx_compiled"]
    assert rep["machine"]["cpu"]["cores"] >= 1 and rep["machine"]["ram_total_gb"] > 0
    assert rep["versions"]["torch"].startswith("2.13")


def test_build_key_changes_with_cpu_features_and_flags(monkeypatch):
    from lqmf.tools.llamacpp import build

    base = build.build_key()
    monkeypatch.setattr(build, "cpu_flags", lambda: ["sse2"])
    assert build.build_key() != base
    monkeypatch.undo()
    monkeypatch.setattr(build, "CMAKE_FLAGS", ("-DGGML_NATIVE=OFF",))
    assert build.build_key() != base
    assert build.build_key("0.0.1") != build.build_key()


def test_numbers_out_of_range_are_refused_before_any_work():
    for args, word in [(["--chunks", "0"], "--chunks"), (["--chunks", "1000000000"], "--chunks"),
                       (["--ctx", "0"], "--ctx"), (["--ctx", "100000000"], "--ctx"),
                       (["--threads", "100000"], "--threads"), (["--threads", "-1"], "--threads")]:
        r = run_lqmf("bench", "smollm2", "--type", "Q8_0", *args, timeout=60)
        assert r.returncode == 2 and word in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_a_family_name_finds_every_model_of_the_family():
    """'gemma' matches the bundled gemma3-270m, a GGUF file named gemma-3-270m-q4_k_m
    and the catalogued gemma-2-2b; not smollm2."""
    from lqmf.tools.store.records import ExperimentRecord
    from lqmf.tools.store.journal import journal

    for model, name, arch in [("gemma3-270m", "gemma3-270m", "gemma3"),
                              ("/models/gemma-3-270m-q4_k_m.gguf", "gemma-3-270m", "gemma3"),
                              ("gemma-2-2b", "gemma-2-2b", "gemma2"), ("smollm2", "smollm2", "llama")]:
        journal().add(ExperimentRecord(kind="quantize", status="succeeded", model=model, model_name=name,
                                       architecture=arch, quant_type="Q8_0", method="gguf", size_bytes=10**8))
    r = run_lqmf("query", "--model", "gemma", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert not data["relaxations"], "the family filter itself matched; nothing was relaxed"
    found = {row.get("model_name") or row.get("model") for row in data["records"]}
    assert {"gemma3-270m", "gemma-3-270m", "gemma-2-2b"} <= found and "smollm2" not in found, found
