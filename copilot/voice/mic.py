"""Push-to-talk from the microphone through sounddevice (PortAudio): Enter
starts, Enter stops (or MAX_SECONDS). Where no input device exists, one clear
sentence says so and how to use a recording instead."""
from __future__ import annotations

import threading

import numpy as np

from lqmf.copilot.voice.audio import MAX_SECONDS, SAMPLE_RATE, Audio, check
from lqmf.tools.errors import MissingComponent

NO_MIC_FIX = "read a recording instead: /voice FILE in the chat, or `lqmf voice --file cmd.wav`"


def _sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError):  # OSError: the PortAudio library is missing
        raise MissingComponent("push-to-talk needs sounddevice and the PortAudio library",
                               "install the voice extra and libportaudio2 (make setup does), or " + NO_MIC_FIX) from None
    return sounddevice


def _devices(kind: str) -> list[int]:
    sd = _sounddevice()
    try:
        devs = list(sd.query_devices())
    except Exception:  # noqa: BLE001 - PortAudio without a sound system
        return []
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    return [i for i, d in enumerate(devs) if int(d.get(key, 0) or 0) > 0]


def input_device() -> int:
    """The microphone to record from; MissingComponent where there is none."""
    found = _devices("input")
    if not found:
        raise MissingComponent("this machine has no microphone (no sound input device)", NO_MIC_FIX)
    default = _sounddevice().default.device[0]
    return default if default in found else found[0]


def has_output_device() -> bool:
    try:
        return bool(_devices("output"))
    except MissingComponent:
        return False


def record(say, read_line=input) -> Audio:
    """One command from the microphone: ``say`` shows the prompts, ``read_line`` waits for Enter."""
    dev = input_device()
    sd = _sounddevice()
    chunks: list[np.ndarray] = []
    say(f"Press Enter, speak the command, press Enter again (at most {MAX_SECONDS:.0f} s).")
    read_line()
    stopped = threading.Event()

    def wait_enter() -> None:
        read_line()
        stopped.set()

    threading.Thread(target=wait_enter, daemon=True).start()
    with sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", device=dev,
                        callback=lambda data, frames, t, status: chunks.append(data[:, 0].copy())):
        say("Listening...")
        stopped.wait(MAX_SECONDS)
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return check(Audio(samples, "the recording", SAMPLE_RATE, 1))
