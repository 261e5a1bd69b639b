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
    ("Quantize mistral-7b with a WQ.", "Quantize mistral-7b with AWQ"),
    ("quantize it with gee PTQ", "quantize it with GPTQ"),
    # a family misheard before a version that only one known model has
    ("Quantize armour 3.2-1b to Q8_0.", "Quantize llama-3.2-1b to Q8_0"),
    ("Make a Q2_K at 5-3-mini.", "Make a Q2_K at phi-3-mini"),
    ("quantize the 3.2-1b", "quantize the 3.2-1b"),
    ("compare to 3-mini", "compare to 3-mini"),
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
    fe = _front("Demand is being rounded.", "Tune gemma3-270m.")
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


@pytest.mark.parametrize("heard, text", [
    ("One-time smollm2 to Q4 near along the CPU.", "Quantize smollm2 to Q4_0 along the CPU"),
    ("One type of smoll model to 4 bits", "Quantize smoll model to 4 bits"),
    ("What does DPTQ mean?", "What does GPTQ mean"),
    ("Explain KL by Virgin.", "Explain KL divergence"),
    ("What in the matrix?", "what is imatrix"),
    ("Explain the matrix.", "Explain imatrix"),
    ("Let's list the queue jobs.", "Let's list the queued jobs"),
    ("Which runs are still queue.", "Which runs are still queued"),
    ("Show my free biggest runs", "Show my three biggest runs"),
    ("tune smollm2 with KL divergence under 0.0-3", "tune smollm2 with KL divergence under 0.03"),
    ("Benchmark, Q8-0 of gemma3-250m.", "Benchmark, Q8_0 of gemma3-270m"),
    ("Benchmark lama3.5-1b.", "Benchmark llama-3.2-1b"),
    ("Do gemma3-270m.", "tune gemma3-270m"),
    ("Quantize smollm3.2-1b", "Quantize smollm3.2-1b"),       # two digits wrong: left alone
    ("Benchmark qwen2.5-3b", "Benchmark qwen2.5-3b"),           # a known name is never snapped
])
def test_misheard_domain_words(heard, text):
    assert spoken_text(heard) == text


@pytest.mark.parametrize("text, parse, slots", [
    ("Stop, dump 5", {"intent": "cancel", "slots": {}}, {"job_id": "5"}),
    ("cancel job 12", {"intent": "cancel", "slots": {"job_id": "12"}}, {"job_id": "12"}),
    ("cancel 3 and 4", {"intent": "cancel", "slots": {}}, {}),
    ("Begin at tutorial", {"intent": "tutorial", "slots": {"topic": "at"}}, {}),
    ("Start in the first tutorial", {"intent": "tutorial", "slots": {"topic": "in the first"}}, {"topic": "first"}),
    ("quantize smollm2 to 4 bits", {"intent": "quantize", "slots": {"bits": 4}}, {"bits": 4}),
])
def test_slots_repaired_after_the_parse(text, parse, slots):
    from lqmf.copilot.voice.repair import repair

    assert repair(parse, text)["slots"] == slots


def test_the_prompt_names_one_model_of_each_family_before_a_second_size():
    from lqmf.copilot.voice.prompt import domain_prompt

    models = domain_prompt().split(". ")[0].removeprefix("Models: ").split(", ")
    families = [m.split("-")[0].rstrip("0123456789.") for m in models]
    assert {"smollm", "gemma", "qwen", "llama", "mistral", "phi"} <= set(families)
    assert len(set(families[2:])) == len(families[2:])          # after the bundled two, no family twice


def test_a_front_end_turn_reads_the_repaired_parse_fake_whisper_edge():
    fe = _front("Stop, dump 5.")
    assert fe.hear(object()).parse["slots"] == {"job_id": "5"}
