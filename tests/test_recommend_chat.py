"""The chat's recommend intent, driven through the real REPL: the issue's
request, "quantize the first one", feedback; and (slow) the whole road to a
quantized, benchmarked bundled model with a real worker."""
from __future__ import annotations

import os
import re

import pytest

from tests.test_copilot_chat import chat, norm, run_cli

REQUEST = "I need a model for creative writing on my 8GB GPU"


def test_recommend_then_pick_then_feedback_transcript(chat_env):
    got = norm(chat([REQUEST, "quantize the first one", "quantize the last one", "yes", "too lossy", "/quit"]))
    turns = got.split("\n> ")
    rec, first, last, yes, lossy = turns[0], turns[1], turns[2], turns[3], turns[4]
    assert rec.startswith("> " + REQUEST + "\nFor creative on 8 GB GPU (8 GB VRAM, 7.5 GB usable): ")
    assert re.search(r"^1\s+\S+\s+Q\d_K_M|^1\s+\S+\s+Q8_0", rec, re.M), rec
    assert re.search(r"^\d\s+gemma3-270m\s+\S+\s+gguf.*bundled$", rec, re.M), rec
    assert "How sure: size ±" in rec and "fetch it first with `huggingface-cli download " in rec
    assert "is not on this machine: fetch it first with `huggingface-cli download " in first
    assert "is here already." in first
    assert re.match(r"quantize the last one\nPlan:\n  1\. quantize gemma3-270m to Q\w+ \(about \d+ MB\)", last), last
    assert re.match(r"yes\nSubmitted job <id>: quantize gemma3-270m to Q\w+\.", yes), yes
    assert lossy.startswith("too lossy\nI now weigh quality 1.6x (was 1x).")


@pytest.mark.slow
def test_creative_writing_on_an_8gb_gpu_to_a_quantized_benchmarked_bundled_model(chat_env):
    """No dry run: a real worker quantizes the bundled model the recommendation offers, and benchmarks it."""
    env = dict(os.environ, LQMF_CHAT_BENCH_CHUNKS="2")
    r = run_cli(["chat", "--script", "-"], f"{REQUEST}\nquantize the last one\nyes\nbenchmark it\nyes\n", env,
                timeout=1800, jobs="real", worker=True)
    out = r.stdout
    assert r.returncode == 0, r.stderr
    assert "For creative on 8 GB GPU" in out and "bundled" in out
    assert re.search(r"Job \w+ \(quantize gemma3-270m Q\w+\) finished: [\d.]+ MB", out), out
    assert re.search(r"Job \w+ \(benchmark gemma3-270m Q\w+\) finished: .*tok/s.*KLD", out), out
