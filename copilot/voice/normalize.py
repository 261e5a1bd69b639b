"""Fixes for how Whisper writes the copilot's words, applied to a transcript
before the parser reads it (copilot/voice/frontend.spoken_text). Each was seen
on the tune lists (evals/voice/tune*.jsonl), never chosen on the eval list; the
parser's own fuzzy matching (copilot/parser) handles the rest."""
from __future__ import annotations

import re
from collections.abc import Callable

_FIXES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # "imatrix" heard as "in the matrix", "i matrix", "eye matrix", "amatrix"
    (re.compile(r"\b(?:(?:in the |i|eye |an i)[\s-]?|a)matrix\b", re.I), "imatrix"),
    # "benchmark" split in two
    (re.compile(r"\bbench[\s-]mark", re.I), "benchmark"),
    # "gguf" as sounds
    (re.compile(r"\b(?:gee|g)[\s-]?guff?\b|\bg\s?g\s?u\s?f\b", re.I), "GGUF"),
    # a model name run into the bit width: "smollm2-8 bits" -> "smollm2 8 bits"
    (re.compile(r"(?<=[a-z0-9])-(\d{1,2})[\s-]?(bits?)\b", re.I), r" \1 \2"),
    # "queue/cue/kew four kay em" (the letters said as words) -> Q4_K_M
    (re.compile(r"\b(?:q|cue|queue|kew)[\s-]?(\d|two|three|four|five|six|eight)[\s-](?:k|kay|okay)[\s-]"
                r"(m|em|s|ess|l|el)\b", re.I),
     lambda m: f"Q{_digit(m[1])}_K_{_letter(m[2])}"),
]
_DIGITS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "eight": "8"}


def _digit(word: str) -> str:
    return _DIGITS.get(word.lower(), word)


def _letter(word: str) -> str:
    """"em" -> M, "ess" -> S, "el" -> L, "m" -> M."""
    w = word.lower()
    return (w[1] if w in ("em", "ess", "el") else w[0]).upper()


def fix(text: str) -> str:
    for pattern, repl in _FIXES:
        text = pattern.sub(repl, text)
    return text
