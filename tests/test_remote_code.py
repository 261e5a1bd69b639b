"""Nothing from a model folder runs without --trust-remote-code: planted
payloads (an auto_map tokenizer, a custom modeling_*.py, a loose .py, a
pickle whose unpickling runs os.system) write a marker if anything runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, partial_files, run_lqmf
from tests.remote_code_archs import remote_code_architectures
from tests.remote_code_payload import plant

HOWS = {"tokenizer": "tokenization_evil.py", "modeling": "modeling_evil.py",
        "loose_py": "modeling_custom.py", "pickle": "pytorch_model.bin"}


def _converter() -> Path:
    from lqmf.tools.llamacpp.sdist import find_converter
    try:
        return find_converter()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"llama.cpp's converter is not installed ({e})")


@pytest.mark.parametrize("how", sorted(HOWS))
def test_quantize_refuses_and_names_the_file(tmp_path, how):
    marker = tmp_path / "MARKER"
    folder = plant(tmp_path / "evil", "QWenLMHeadModel", marker, how)
    r = run_lqmf("quantize", str(folder), "--type", "Q8_0")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert HOWS[how] in r.stderr and "--trust-remote-code" in r.stderr, r.stderr
    if how == "pickle":
        assert "pickle" in r.stderr and "safetensors" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not marker.exists()
    assert not partial_files(Path(os.environ["LQMF_HOME"]), folder)


def test_bench_refuses_too(tmp_path):
    marker = tmp_path / "MARKER"
    folder = plant(tmp_path / "evil", "ChatGLMModel", marker, "tokenizer")
    r = run_lqmf("bench", str(folder), "--no-speed", "--chunks", "1")
    assert r.returncode == 2 and "tokenization_evil.py" in r.stderr, r.stderr
    assert not marker.exists()


def test_pickle_with_consent_is_still_not_unpickled(tmp_path):
    """--trust-remote-code lets the converter open the folder, but torch's
    weights_only loader still refuses the payload: one sentence, no marker."""
    _converter()
    marker = tmp_path / "MARKER"
    folder = plant(tmp_path / "evil", "LlamaForCausalLM", marker, "pickle")
    r = run_lqmf("quantize", str(folder), "--type", "Q8_0", "--trust-remote-code", timeout=300)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert not marker.exists()


def _drive(conv: Path, folders: list[Path], out: Path, unwrapped: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(conv / "gguf-py"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, str(ROOT / "tests" / "remote_code_driver.py"), str(conv), str(out),
           *(["--unwrapped"] if unwrapped else []), *map(str, folders)]
    subprocess.run(cmd, env=env, cwd=conv, capture_output=True, timeout=600, check=True)
    return json.loads(out.read_text())


# Architectures whose converter class asks for remote code unconditionally:
# the unwrapped control run must reach (and run) the payload for these.
MUST_REACH = ["QWenLMHeadModel", "ChatGLMModel", "GlmForCausalLM", "Glm4ForCausalLM",
              "HunYuanDenseV1ForCausalLM", "MiniMaxText01ForCausalLM", "DreamModel", "LLaDAModelLM"]


def test_converter_never_runs_remote_code_for_any_architecture(tmp_path):
    """Every architecture the converter loads with trust_remote_code=True (read
    from its source), through lqmf's wrapper: no payload runs. The control run
    without the wrapper shows the payload does run for the unconditional ones."""
    conv = _converter()
    archs = remote_code_architectures(conv)
    assert len(archs) >= 20 and set(MUST_REACH) <= set(archs), sorted(archs)
    folders = {a: plant(tmp_path / a, a, tmp_path / a / "MARKER") for a in archs}

    wrapped = _drive(conv, list(folders.values()), tmp_path / "wrapped.json", unwrapped=False)
    ran = [a for a, f in folders.items() if (f / "MARKER").exists()]
    assert ran == [], f"remote code ran through the wrapper for {ran}"

    control = _drive(conv, list(folders.values()), tmp_path / "control.json", unwrapped=True)
    reached = {a for a, f in folders.items() if (f / "MARKER").exists()}
    assert set(MUST_REACH) <= reached, f"the payload did not run unwrapped for {set(MUST_REACH) - reached}"
    for a in reached:  # where the payload would run, the wrapper made transformers refuse instead
        assert "custom code" in wrapped[str(folders[a])] or "lqmf refused" in wrapped[str(folders[a])], \
            (a, wrapped[str(folders[a])])
    print(f"\nremote-code architectures: {len(archs)}; payload reached unwrapped: {len(reached)}; "
          f"ran through the wrapper: 0", file=sys.stderr)
    assert control  # both runs covered every folder
