"""The voice front end: a recording -> a transcript (shown) -> one turn of the
same Session as typed text. A turn whose combined confidence (Whisper's and the
parser's) is low is confirmed first: "I heard: '...' — is that right?"; the
graph then asks, as for typed text, before anything expensive runs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lqmf.copilot.voice.confidence import CONFIRM_BELOW, combined, needs_confirmation
from lqmf.copilot.voice.models import DEFAULT_MODEL, WhisperModelName
from lqmf.copilot.voice.transcriber import Transcript, Transcriber

_TRAILING = re.compile(r"[\s.!?,;:]+$")


def spoken_text(raw: str) -> str:
    """Whisper's words as the parser reads typed text: no closing full stop, and a
    catalog model's spelled variant ("gemma-3-270m") as its catalog name."""
    from lqmf.copilot.voice.names import snap_models
    from lqmf.copilot.voice.normalize import fix

    text = fix(_TRAILING.sub("", " ".join(raw.split())))
    for pattern, repl in _QUANT_SPELLINGS:
        text = pattern.sub(repl, text)
    for pattern, name in _spellings():
        text = pattern.sub(name, text)
    return snap_models(text)


def _spellings() -> list:
    """(regex, catalog name) for each alias that differs only in spelling (a digit or a dash in it)."""
    global _SPELLINGS
    if _SPELLINGS is None:
        from lqmf import knowledge

        pairs = [(a, e["name"]) for e in knowledge.catalog() for a in e.get("aliases") or []
                 if re.search(r"[\d-]", a) and " " not in a and a != e["name"]]
        _SPELLINGS = [(re.compile(rf"(?<![\w.-]){re.escape(a)}(?![\w-]|\.\d)", re.I), n)
                      for a, n in sorted(pairs, key=lambda p: -len(p[0]))]
    return _SPELLINGS


_SPELLINGS: list[tuple[re.Pattern[str], str]] | None = None
_SEP = r"[\s.\-_]?"
# how Whisper writes a spoken quant type: "Q4-K-M", "Q4KM", "Q4.K.M", "Q 4 K M", "Q8-0", "Q6-K"
_QUANT_SPELLINGS = [
    (re.compile(rf"\b(I?Q)\s?([2-8]){_SEP}K{_SEP}([MSL])\b", re.I), lambda m: f"{m[1].upper()}{m[2]}_K_{m[3].upper()}"),
    (re.compile(rf"\bQ\s?([2-8]){_SEP}K\b", re.I), lambda m: f"Q{m[1]}_K"),
    (re.compile(r"\bQ\s?([4-8])[\s.\-_]([01])\b(?!\.\d)", re.I), lambda m: f"Q{m[1]}_{m[2]}"),
]


@dataclass
class Heard:
    transcript: Transcript
    text: str
    parse: dict
    confidence: float
    confirm: bool

    def question(self) -> dict:
        return {"slot": "confirm", "prompt": f"I heard: '{self.text}' — is that right? [Y/n]",
                "choices": ["yes", "no"], "default": "yes"}

    def shown(self) -> str:
        return (f"I heard: \"{self.text}\"  (whisper {self.transcript.confidence:.2f}, "
                f"parser {float(self.parse.get('confidence', 1.0)):.2f}, {self.transcript.audio_s:.1f} s audio)")

    def to_dict(self) -> dict:
        return {"transcript": self.text, "raw_transcript": self.transcript.text,
                "whisper": self.transcript.to_dict(),
                "parser_confidence": float(self.parse.get("confidence", 1.0)),
                "confidence": round(self.confidence, 3), "needs_confirmation": self.confirm,
                "parse": self.parse}


class VoiceFrontEnd:
    """Hears recordings; holds the transcript waiting for "is that right?"."""

    def __init__(self, model: WhisperModelName = DEFAULT_MODEL, confirm_below: float = CONFIRM_BELOW,
                 prompt: str | None = None, store_models: bool = True, retry: bool = True):
        self.model = WhisperModelName(model)
        self.confirm_below = confirm_below
        self._prompt = prompt
        self._store_models = store_models
        self.retry = retry            # a second listen when the first does not parse as a command
        self._transcriber: Transcriber | None = None
        self.pending: Heard | None = None

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            from lqmf.copilot.voice.prompt import domain_prompt, store_models

            prompt = self._prompt if self._prompt is not None else \
                domain_prompt(store_models() if self._store_models else ())
            self._transcriber = Transcriber(self.model, prompt)
        return self._transcriber

    def hear(self, audio) -> Heard:
        from lqmf.copilot.parser import parse
        from lqmf.copilot.voice.repair import repair

        tr = self.transcriber.transcribe(audio)
        text = spoken_text(tr.text)
        res = repair(parse(text), text)
        if res["intent"] == "unknown" and self.retry:
            # the parser cannot read it: a second listen with the short prompt (the command sentences
            # alone, no word lists to echo), kept when it reads as a command
            tr2 = self.transcriber.transcribe(audio, prompt=self._retry_prompt())
            text2 = spoken_text(tr2.text)
            res2 = repair(parse(text2), text2)
            if res2["intent"] != "unknown":
                tr2.elapsed_s = round(tr.elapsed_s + tr2.elapsed_s, 3)
                tr, text, res = tr2, text2, res2
        score = combined(tr.confidence, float(res.get("confidence", 1.0)))
        return Heard(tr, text, res, score, needs_confirmation(score, self.confirm_below))

    def _retry_prompt(self) -> str:
        from lqmf.copilot.voice.prompt import COMMANDS

        return COMMANDS

    def hear_file(self, path: str | Path) -> Heard:
        from lqmf.copilot.voice.audio import load

        return self.hear(load(path))

    def hear_mic(self, say) -> Heard:
        from lqmf.copilot.voice.mic import record

        return self.hear(record(say))

    def answer(self, text: str, say) -> str | None:
        """The reply to "is that right?": the transcript to run (yes), None (no),
        or, for anything else, that text as the corrected command."""
        from lqmf.copilot.nodes import words

        heard, self.pending = self.pending, None
        if heard is None:
            return text
        if not text.strip() or words.is_yes(text):
            return heard.text
        if words.is_no(text):
            say("Dropped it. Say it again (/voice) or type the command.")
            return None
        return text


def voice_turn(repl, arg: str) -> None:
    """``/voice [FILE]`` in the REPL: hear, show, confirm if unsure, else one turn."""
    fe = repl.voice
    if fe is None:
        fe = repl.voice = VoiceFrontEnd()
    heard = fe.hear_file(arg) if arg else fe.hear_mic(repl.io.output)
    repl.io.output(heard.shown())
    if heard.confirm:
        fe.pending = heard
        repl.io.question(heard.question())
        return
    repl.turn(heard.text, via="voice")
