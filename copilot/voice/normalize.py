"""Fixes for how Whisper writes the copilot's words, applied to a transcript
before the parser reads it (copilot/voice/frontend.spoken_text). Each was seen
on the tune lists (evals/voice/tune*.jsonl), never chosen on the eval list; the
parser's own fuzzy matching (copilot/parser) handles the rest."""
from __future__ import annotations

import re
from collections.abc import Callable

_FIXES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # "quantize" at the start heard as "one time", "one type (of)", "one tight", "1-time"
    (re.compile(r"^(?:one|1)[\s-]?(?:time|type|tight|tied?|tide)\b(?:\s+of\b)?", re.I), "Quantize"),
    # "what is an imatrix" heard as "what in the matrix"
    (re.compile(r"\bwhat(?:'s| is)?\s+(?:in|an|is an|is in) (?:the )?matrix\b", re.I), "what is imatrix"),
    # "imatrix" heard as "in the matrix", "i matrix", "eye matrix", "amatrix", "the matrix"
    (re.compile(r"\b(?:(?:in the |the |i|eye |an i)[\s-]?|a)matrix\b", re.I), "imatrix"),
    # "GPTQ" with its G heard as another consonant: "DPTQ", "BPTQ"
    (re.compile(r"\b[BDPTVZ]PTQ\b", re.I), "GPTQ"),
    # "AWQ" heard as its letters run together: "a WQ", "A-W-Q", "a double-U Q"
    (re.compile(r"\b(?:a|an|eh|ay)[\s-]?(?:w|double[\s-]?(?:u|you))[\s-]?(?:q|queue|cue)\b", re.I), "AWQ"),
    # "GPTQ" heard with a word before its letters: "G P T Q", "gee PTQ"
    (re.compile(r"\b(?:g|gee|ji|jee)[\s-]?p[\s-]?t[\s-]?q\b", re.I), "GPTQ"),
    # "KL divergence" heard as "KL by virgin", "KL, I'll merge them"
    (re.compile(r"\bKL,?\s+(?:[\w']+\s+){0,2}?(?:\w*virgin\w*|\w*verg\w*|merge\w*)\b", re.I), "KL divergence"),
    # the "0" of "Q4_0" heard as "zero", "oh", "near"
    (re.compile(r"\bQ([2-8])[\s-](?:zero|oh|o|near)\b", re.I), r"Q\1_0"),
    # "queued" without its "d"
    (re.compile(r"\bqueue(?=\s+jobs?\b)", re.I), "queued"),
    (re.compile(r"\b(still|are|is|were|was) queue\b", re.I), r"\1 queued"),
    # "three" heard as "free" before a ranking word
    (re.compile(r"\bfree(?=\s+(?:biggest|smallest|fastest|slowest|largest|best|top|newest|latest)\b)", re.I),
     "three"),
    (re.compile(r"\bsummation\b", re.I), "summarization"),
    # a small decimal with a dash in it: "0.0-3" -> 0.03
    (re.compile(r"(?<![\w.])(0\.0*)-(\d+)(?![\w.])"), r"\1\2"),
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
