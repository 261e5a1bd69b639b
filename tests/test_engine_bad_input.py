"""Bad input to quantize/bench: one clear sentence, non-zero exit, no
traceback, nothing partial left on disk."""
from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import LQMF, ROOT, partial_files, run_lqmf


def assert_one_sentence(r, *needles: str) -> None:
    assert r.returncode != 0
    err = r.stderr.strip()
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])


def bundled_gguf() -> Path:
    from lqmf.tools.models import resolve

    return resolve("smollm2").path


def tiny_safetensors(path: Path, n_bytes: int | None = None) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 64
    path.write_bytes(data if n_bytes is None else data[:n_bytes])


# (args, words the one error line must contain); {tmp} is the test's tmp dir
CASES = {
    "unknown model": (["quantize", "no-such-model-xyz", "--type", "Q4_K_M"], ["unknown model", "smollm2"]),
    # a hub id that the empty test cache lacks: no network, so name the fix
    "hub id not cached": (["quantize", "mistralai/Mistral-7B-Instruct-v0.2", "--type", "Q4_K_M"],
                          ["not in the local hugging face cache", "local folder"]),
    "unknown quant type": (["quantize", "smollm2", "--type", "Q7_X"], ["unknown quant type", "Q4_K_M", "Q8_0"]),
    "bad method": (["quantize", "smollm2", "--type", "Q4_K_M", "--method", "zip"], ["unknown method"]),
    # a quant type of another method than the one asked for
    "type/method mismatch": (["quantize", "smollm2", "--type", "NF4", "--method", "gguf"], ["unknown quant type"]),
    "missing path": (["quantize", "./does/not/exist", "--type", "Q4_K_M"], ["no file or folder"]),
    "bench missing artifact": (["bench", "/nope/x.gguf"], ["no file or folder"]),
    "bad chunks": (["bench", "smollm2", "--chunks", "0"], ["--chunks"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_arguments(name, tmp_path):
    args, needles = CASES[name]
    r = run_lqmf(*args, env={"HF_HUB_CACHE": str(tmp_path / "hf")}, timeout=120)
    assert_one_sentence(r, *needles)


def test_folder_without_config(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    tiny_safetensors(d / "model.safetensors")
    assert_one_sentence(run_lqmf("quantize", str(d), "--type", "Q4_K_M"), "no config.json")


def test_unsupported_architecture_is_named(tmp_path):
    d = tmp_path / "weird"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"architectures": ["FooBarForCausalLM"], "model_type": "foobar"}))
    tiny_safetensors(d / "model.safetensors")
    r = run_lqmf("quantize", str(d), "--type", "Q4_K_M")
    assert_one_sentence(r, "FooBarForCausalLM", "not support")
    assert partial_files(tmp_path) == []


def test_truncated_safetensors(tmp_path):
    d = tmp_path / "trunc"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    tiny_safetensors(d / "model.safetensors", n_bytes=70)
    assert_one_sentence(run_lqmf("quantize", str(d), "--type", "Q4_K_M"), "truncated or corrupt")


def test_truncated_gguf(tmp_path):
    f = tmp_path / "cut.gguf"
    with open(bundled_gguf(), "rb") as src:
        f.write_bytes(src.read(5_000_000))
    assert_one_sentence(run_lqmf("quantize", str(f), "--type", "Q4_K_M"), "truncated")
    assert_one_sentence(run_lqmf("bench", str(f)), "truncated")


def test_garbage_gguf(tmp_path):
    f = tmp_path / "junk.gguf"
    f.write_bytes(os.urandom(4096))
    assert_one_sentence(run_lqmf("quantize", str(f), "--type", "Q4_K_M"), "not a gguf file")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount a small tmpfs")
def test_not_enough_disk_is_refused_before_starting(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)]).returncode != 0:
        pytest.skip("tmpfs mount not permitted here")
    try:
        t0 = time.time()
        r = run_lqmf("quantize", "smollm2", "--type", "Q8_0", "--out", str(small))
        assert_one_sentence(r, "needs about", "free")
        assert time.time() - t0 < 60, "refused from the estimate, before any conversion"
        assert list(small.iterdir()) == [] or all(p.name.endswith(".lock") for p in small.iterdir())
    finally:
        subprocess.run(["umount", str(small)])


def _spawn(args, home: Path):
    env = dict(os.environ, LQMF_HOME=str(home))
    return subprocess.Popen([*LQMF, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(pred, timeout: float, proc=None) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_ctrl_c_during_conversion_cleans_up_and_next_run_starts_clean(tmp_path):
    home = tmp_path / "home"
    p = _spawn(["quantize", "smollm2", "--type", "Q4_K_M"], home)
    f16_dir = home / "cache" / "f16"
    assert _wait_for(lambda: any(".partial-" in x.name for x in f16_dir.glob("*")) if f16_dir.exists()
                     else False, 300, p), "conversion never started"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err.lower()
    assert partial_files(home) == []
    assert not list(f16_dir.glob("*.gguf"))
    r = run_lqmf("quantize", "smollm2", "--type", "Q4_K_M", "--json", env={"LQMF_HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert partial_files(home) == []


@pytest.mark.slow
def test_ctrl_c_during_quantization_and_concurrent_writer(warm_home, tmp_path):
    out = tmp_path / "out"
    p = _spawn(["quantize", "smollm2", "--type", "Q5_K_M", "--out", str(out)], warm_home)
    assert _wait_for(lambda: any(".partial-" in x.name for x in out.glob("*")) if out.exists() else False,
                     120, p), "quantization never started"
    # a second run for the same artifact is refused while the first writes it
    r = run_lqmf("quantize", "smollm2", "--type", "Q5_K_M", "--out", str(out),
                 env={"LQMF_HOME": str(warm_home)})
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert_one_sentence(r, "another run is writing")
    assert p.returncode == 130, err
    assert partial_files(out) == []
    assert not (out / "smollm2.Q5_K_M.gguf").exists()


@pytest.mark.slow
def test_sigterm_during_quantization_cleans_up_like_ctrl_c(warm_home, tmp_path):
    """`kill` or `timeout` sends SIGTERM, whose default ends Python at once: the
    half-written artifact must still be removed, with one sentence."""
    out = tmp_path / "out"
    p = _spawn(["quantize", "smollm2", "--type", "Q6_K", "--out", str(out)], warm_home)
    assert _wait_for(lambda: any(".partial-" in x.name for x in out.glob("*")) if out.exists() else False,
                     120, p), "quantization never started"
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert "Traceback" not in err and "stopped by SIGTERM" in err
    assert partial_files(out) == []
    assert not (out / "smollm2.Q6_K.gguf").exists()


def test_records_a_failed_run(tmp_path):
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize import quantize
    from lqmf.tools.store.journal import journal

    with pytest.raises(LqmfError):
        quantize("no-such-model-xyz", "Q4_K_M")
    recs = journal().all()
    assert recs[-1].status == "failed" and "unknown model" in recs[-1].error
