"""faster-whisper on the bundled weights: int8 on CPU, float16 on CUDA where
present, Silero VAD (shipped in faster-whisper's wheel) to trim silence, beam
search 5, and the domain prompt. Offline: HF_HUB_OFFLINE=1 before import."""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

from lqmf.copilot.voice.audio import SAMPLE_RATE, Audio
from lqmf.copilot.voice.confidence import whisper_confidence
from lqmf.copilot.voice.models import DEFAULT_MODEL, WhisperModelName, model_path
from lqmf.tools.errors import InvalidInput, MissingComponent, from_backend

BEAM_SIZE = 5


@dataclass
class Transcript:
    text: str
    avg_logprob: float
    no_speech_prob: float
    audio_s: float
    elapsed_s: float
    model: str
    device: str

    @property
    def confidence(self) -> float:
        return whisper_confidence(self.avg_logprob, self.no_speech_prob)

    @property
    def rtf(self) -> float:
        """Real-time factor: seconds of compute per second of audio."""
        return self.elapsed_s / self.audio_s if self.audio_s else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(confidence=round(self.confidence, 3), rtf=round(self.rtf, 3))
        return d


def device() -> tuple[str, str]:
    """(device, compute type) for CTranslate2."""
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
    except Exception:  # noqa: BLE001 - no CUDA runtime: the CPU it is
        pass
    return "cpu", "int8"


def _threads() -> int:
    from lqmf.tools.config import threads

    return threads()


class Transcriber:
    """One Whisper model, loaded on first use and kept."""

    def __init__(self, name: WhisperModelName = DEFAULT_MODEL, prompt: str | None = None):
        self.name = WhisperModelName(name)
        self.prompt = prompt
        self.device, self.compute_type = device()
        self._model = None
        self.load_s = 0.0

    def load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            t0 = time.perf_counter()
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise MissingComponent("voice needs faster-whisper",
                                       "install the voice extra: pip install 'lqmf[voice]'") from None
            path = model_path(self.name)
            try:
                self._model = WhisperModel(str(path), device=self.device, compute_type=self.compute_type,
                                           cpu_threads=_threads() if self.device == "cpu" else 0)
            except Exception as e:  # noqa: BLE001
                raise from_backend(e, f"loading Whisper {self.name}") from None
            self.load_s = time.perf_counter() - t0
        return self._model

    def transcribe(self, audio: Audio, prompt: str | None = None) -> Transcript:
        """The words of ``audio`` (with the given initial prompt, else the transcriber's);
        an error when Whisper hears no speech in it."""
        from lqmf.copilot.voice.prompt import domain_prompt

        model = self.load()
        if prompt is None:
            prompt = self.prompt if self.prompt is not None else domain_prompt()
        t0 = time.perf_counter()
        try:
            segments, _info = model.transcribe(audio.samples, language="en", beam_size=BEAM_SIZE,
                                               vad_filter=True, initial_prompt=prompt,
                                               condition_on_previous_text=False,
                                               without_timestamps=True)
            segments = list(segments)
        except Exception as e:  # noqa: BLE001
            raise from_backend(e, "Whisper") from None
        elapsed = time.perf_counter() - t0
        text = " ".join(s.text.strip() for s in segments).strip()
        if not text:
            raise InvalidInput(f"I heard no speech in {audio.source}",
                               "speak closer to the microphone, or type the command")
        weights = [max(s.end - s.start, 1e-3) for s in segments]
        avg = sum(s.avg_logprob * w for s, w in zip(segments, weights)) / sum(weights)
        return Transcript(text=text, avg_logprob=round(avg, 4),
                          no_speech_prob=round(max(s.no_speech_prob for s in segments), 4),
                          audio_s=round(len(audio.samples) / SAMPLE_RATE, 3), elapsed_s=round(elapsed, 3),
                          model=self.name.value, device=self.device)
