"""Spoken test audio for evals/voice and tests/test_voice.py: a command's written
form -> how a person says it -> a WAV from espeak-ng (several voices, speeds) or
piper (the joe voice), optionally with white noise at a given SNR. Files go to a
cache folder (never committed), keyed by everything that shapes them."""
from __future__ import annotations

import hashlib
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# written form -> spoken form (how a user says the domain words)
SAY = [
    (r"\bQ(\d)_K_([MSL])\b", r"Q\1 K \2"), (r"\bQ(\d)_K\b", r"Q\1 K"), (r"\bQ(\d)_(\d)\b", r"Q\1 \2"),
    (r"\bsmollm2\b", "smol LM 2"), (r"\bgemma3-270m\b", "gemma 3 270 M"), (r"\bqwen2\.5-(\d\.\d)b\b", r"qwen 2.5 \1 B"),
    (r"\bmistral-7b\b", "mistral 7 B"), (r"\bphi-3-mini\b", "phi 3 mini"), (r"\btinyllama\b", "tiny llama"),
    (r"\bNF4\b", "N F 4"), (r"\bGGUF\b", "G G U F"), (r"\bGPTQ\b", "G P T Q"), (r"\bAWQ\b", "A W Q"),
    (r"\bKL\b", "K L"),
]


def speech_form(text: str) -> str:
    for pat, rep in SAY:
        text = re.sub(pat, rep, text)
    return text


@dataclass(frozen=True)
class Voice:
    engine: str          # "espeak-ng" or "piper"
    name: str = "en-us"  # espeak voice+variant
    speed: int = 165     # espeak words per minute

    @property
    def label(self) -> str:
        return "piper:joe" if self.engine == "piper" else f"espeak:{self.name}@{self.speed}"


VOICES = [Voice("espeak-ng", "en-us", 160), Voice("espeak-ng", "en-gb", 150), Voice("piper", "joe"),
          Voice("espeak-ng", "en+f3", 175), Voice("espeak-ng", "en-us+m3", 190), Voice("espeak-ng", "en-gb+f2", 140)]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wf:
        data = np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16).astype(np.float32) / 32768
        return data.reshape(-1, wf.getnchannels()), wf.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    samples = samples.reshape(len(samples), -1)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as wf:
        wf.setnchannels(samples.shape[1])
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    tmp.replace(path)


def add_noise(samples: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White noise at ``snr_db`` below the speech (RMS over the voiced samples)."""
    voiced = samples[np.abs(samples) > 0.01]
    rms = float(np.sqrt(np.mean(np.square(voiced)))) if voiced.size else 0.05
    noise = np.random.default_rng(seed).normal(0.0, rms / 10 ** (snr_db / 20), samples.shape)
    return (samples + noise).astype(np.float32)


def synthesize(text: str, voice: Voice, cache: Path, snr_db: float | None = None, seed: int = 0) -> Path:
    """The WAV of ``text`` said by ``voice`` (cached)."""
    from lqmf.copilot.voice.speak import SpeechEngine, synthesize as tts

    said = speech_form(text)
    key = hashlib.sha1(f"{said}|{voice}|{snr_db}|{seed}".encode()).hexdigest()[:16]
    out = cache / f"{key}.wav"
    if out.is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    clean = cache / f"{key}.clean.wav"
    engine = SpeechEngine.PIPER if voice.engine == "piper" else SpeechEngine.ESPEAK
    tts(said, clean, engine, voice.name, voice.speed)
    if snr_db is None:
        clean.replace(out)
        return out
    samples, rate = read_wav(clean)
    write_wav(out, add_noise(samples, snr_db, seed), rate)
    clean.unlink()
    return out
