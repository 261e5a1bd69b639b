"""Transcript fixes (copilot/voice/normalize.py) and the second listen of the
voice front end when the first transcript does not parse as a command."""
from __future__ import annotations

import pytest

from lqmf.copilot.voice.frontend import VoiceFrontEnd, spoken_text
from lqmf.copilot.voice.transcriber import Transcript


@pytest.mark.parametrize("heard, text", [
    ("What is an amatrix?", "What is an imatrix"),
    ("explain the i matrix", "explain the imatrix"),
    ("a matrix of numbers", "a matrix of numbers"),
    ("Run a bench mark on smollm2-8 bits.", "Run a benchmark on smollm2 8 bits"),
    ("explain gee guff", "explain GGUF"),
    ("quantize tiny llama to cue four kay em", "quantize tiny llama to Q4_K_M"),
    ("make it queue 5 K ess", "make it Q5_K_S"),
    ("Quantize smollm2 to Q4-K-M.", "Quantize smollm2 to Q4_K_M"),
    ("quantize qwen2.5-1.5b to 8 bits", "quantize qwen2.5-1.5b to 8 bits"),
])
def test_transcript_fixes(heard, text):
    assert spoken_text(heard) == text


class _FakeWhisperEdge:
    """Stands in for Whisper (the edge we do not own): one transcript per call, in turn."""

    def __init__(self, *texts):
        self.texts, self.prompts = list(texts), []

    def transcribe(self, audio, prompt=None):
        self.prompts.append(prompt)
        return Transcript(self.texts.pop(0), -0.2, 0.01, 2.0, 0.3, "tiny.en", "cpu")


def _front(*texts):
    fe = VoiceFrontEnd(store_models=False)
    fe._transcriber = _FakeWhisperEdge(*texts)
    return fe


def test_an_unreadable_first_listen_is_heard_again_with_the_short_prompt_fake_whisper_edge():
    fe = _front("Do gemma3-270m.", "Tune gemma3-270m.")
    heard = fe.hear(object())
    assert heard.parse["intent"] == "tune" and heard.text == "Tune gemma3-270m"
    assert fe._transcriber.prompts[1] and "Models:" not in fe._transcriber.prompts[1]
    assert heard.transcript.elapsed_s == pytest.approx(0.6)          # both listens count


def test_the_first_listen_stays_when_the_second_is_no_better_fake_whisper_edge():
    fe = _front("Play some music.", "Play some music please.")
    assert fe.hear(object()).text == "Play some music"


def test_a_readable_first_listen_is_not_heard_twice_fake_whisper_edge():
    fe = _front("Cancel job 12.")
    assert fe.hear(object()).parse["intent"] == "cancel" and len(fe._transcriber.prompts) == 1
