"""A recording, loaded and checked: decoded with faster-whisper's own decoder
(PyAV), down-mixed to mono and resampled to 16 kHz. Every way a file can be
unusable is one sentence through tools.errors, never a traceback."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lqmf.tools.errors import CorruptFile, InvalidInput, MissingComponent

SAMPLE_RATE = 16_000          # what Whisper reads
MAX_SECONDS = 120.0           # a spoken command; longer recordings are refused
SILENT_DBFS = -55.0           # a recording whose loudest 50 ms stays below this is silence
FIX_RECORD = "record the command again, or type it"


@dataclass
class Audio:
    samples: np.ndarray       # float32 mono at SAMPLE_RATE
    source: str               # file name or "microphone"
    source_rate: int | None = None
    source_channels: int | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def describe(self) -> str:
        parts = [f"{self.duration_s:.1f} s"]
        if self.source_rate and self.source_rate != SAMPLE_RATE:
            parts.append(f"resampled from {self.source_rate} Hz")
        if self.source_channels and self.source_channels > 1:
            parts.append(f"{self.source_channels} channels mixed to mono")
        return ", ".join(parts)


def _too_long(name: str, seconds: float) -> InvalidInput:
    return InvalidInput(f"{name} is {_clock(seconds)} long; a voice command may last at most {_clock(MAX_SECONDS)}",
                        f"cut out the command (e.g. `sox {name} cmd.wav trim 0 20`) or type it")


def _clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return (f"{m} min {s:02d} s" if s else f"{m} min") if m else f"{s} s"


# leading bytes of the audio containers people record in
MAGIC = {b"RIFF": "WAV", b"fLaC": "FLAC", b"OggS": "OGG", b"ID3": "MP3", b"\xff\xfb": "MP3", b"FORM": "AIFF"}


def _looks_like(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(4)
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def _av():
    try:
        import av
        from faster_whisper.audio import decode_audio
    except ImportError:
        raise MissingComponent("voice needs faster-whisper", "install the voice extra: pip install 'lqmf[voice]'") from None
    return av, decode_audio


def probe(path: Path) -> tuple[int | None, int | None, float | None]:
    """(sample rate, channels, duration in s or None) of the first audio stream."""
    av, _ = _av()
    name = path.name
    try:
        with av.open(str(path), metadata_errors="ignore") as box:
            streams = [s for s in box.streams if s.type == "audio"]
            if not streams:
                raise InvalidInput(f"{name} has no audio track", "give a WAV, FLAC, MP3 or OGG recording")
            st = streams[0]
            dur = None
            if st.duration is not None and st.time_base is not None:
                dur = float(st.duration * st.time_base)
            elif box.duration is not None:
                dur = box.duration / 1_000_000
            return st.sample_rate or st.rate, st.channels, dur
    except InvalidInput:
        raise
    except av.error.InvalidDataError:
        kind = _looks_like(path)
        if kind:
            raise CorruptFile(f"{name} starts like a {kind} file but is truncated or corrupt", FIX_RECORD) from None
        raise InvalidInput(f"{name} is not an audio file (no known audio format)",
                           "give a WAV, FLAC, MP3 or OGG recording") from None
    except (av.FFmpegError, OSError, ValueError) as e:
        raise CorruptFile(f"{name} could not be read as audio ({str(e).split(':')[0][:80]})",
                          FIX_RECORD) from None


def load(path: str | Path) -> Audio:
    """The recording at ``path``, checked: it exists, is audio, is not corrupt,
    not over MAX_SECONDS, not silent."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InvalidInput(f"there is no file {path}", "check the path")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{name} is empty (0 bytes)", FIX_RECORD)
    rate, channels, dur = probe(path)
    if dur is not None and dur > MAX_SECONDS + 0.5:
        raise _too_long(name, dur)
    _, decode_audio = _av()
    try:
        samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as e:  # noqa: BLE001 - PyAV raises many kinds for broken data
        raise CorruptFile(f"{name} looks like audio but could not be decoded ({type(e).__name__})",
                          FIX_RECORD) from None
    audio = Audio(np.asarray(samples, dtype=np.float32), name, rate, channels)
    return check(audio)


def check(audio: Audio) -> Audio:
    """Refuse what holds no command: no samples, too long, silence."""
    name = audio.source
    if audio.samples.size < SAMPLE_RATE // 10:
        raise CorruptFile(f"{name} holds no audio samples (or under 0.1 s)", FIX_RECORD)
    if audio.duration_s > MAX_SECONDS + 0.5:
        raise _too_long(name, audio.duration_s)
    if not np.all(np.isfinite(audio.samples)):
        raise CorruptFile(f"{name} decodes to invalid samples (NaN or infinity)", FIX_RECORD)
    if loudest_dbfs(audio.samples) < SILENT_DBFS:
        raise InvalidInput(f"{name} is silent (nothing louder than {SILENT_DBFS:.0f} dBFS)",
                           "check the microphone and record the command again")
    return audio


def loudest_dbfs(samples: np.ndarray, window: int = SAMPLE_RATE // 20) -> float:
    """The RMS level, in dB full scale, of the loudest 50 ms window."""
    n = len(samples) // window
    if n == 0:
        rms = float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0
    else:
        frames = samples[: n * window].reshape(n, window)
        rms = float(np.sqrt(np.mean(np.square(frames), axis=1)).max())
    return 20 * np.log10(max(rms, 1e-10))
