"""Normalize an utterance before the rules read it: lower case, punctuation
that carries no meaning dropped, numbers in words turned into digits, and the
spellings a speech recognizer produces ("g p t q", "k l divergence",
"bits and bytes") joined back into the words the lexicon knows."""
from __future__ import annotations

import re
import unicodedata

from lqmf.copilot.parser.numbers import words_to_digits
from lqmf.tools.spelled import join_spelled

MAX_CHARS = 2000  # longer input is cut: nobody asks a request in more

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\ufeff]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": " ", "\u00a0": " ", "`": "'", "\u2264": "<", "\u2265": ">"})
_COMPARATORS = [(re.compile(r"<=?|=<"), " under "), (re.compile(r">=?|=>"), " over ")]
_DROP = re.compile(r"[?!,;\"()\[\]{}*]+")
_END_DOT = re.compile(r"(?<![\s/.~])[.:]+(?=\s|$)")
_QUOTE_EDGE = re.compile(r"(?:(?<=\s)|^)'+|'+(?=\s|$)")
_SPACES = re.compile(r"\s+")

# Spoken or spelled-out forms -> the lexicon's word. Applied after numbers are digits.
_SPOKEN = [(re.compile(p), r) for p, r in [
    (r"\bg ?g ?u ?f\b|\bgee gee you eff\b|\bg-g-u-f\b", "gguf"),
    (r"\bg ?p ?t ?q\b|\bgpt-q\b|\bg-p-t-q\b", "gptq"),
    (r"\ba w q\b|\ba-w-q\b", "awq"),
    (r"\bb n b\b", "bnb"),
    (r"\bbits? ?(?:and|&|n|'n') ?bytes\b", "bitsandbytes"),
    (r"\bllama[ \-]?c ?p ?p\b|\bllama dot cpp\b", "llama.cpp"),
    (r"\bc ?p ?u\b|\bsee pee you\b", "cpu"),
    (r"\bg ?p ?u\b|\bgee pee you\b", "gpu"),
    (r"\bv ?ram\b|\bv-ram\b", "vram"),
    (r"\bk ?l ?d\b", "kld"),
    (r"\bk l\b|\bk-l\b", "kl"),
    (r"\bp ?p ?l\b", "ppl"),
    (r"\bn ?f ?4\b|\bnormal ?float ?4\b", "nf4"),
    (r"\bf ?p ?4\b", "fp4"),
    (r"\bf ?p ?16\b|\bfloat ?16\b|\bhalf precision\b", "fp16"),
    (r"\bint ?([48])\b", r"int\1"),
    (r"\b(?:for|fore)[ \-](bits?)\b", r"4 \1"),
    (r"\bate[ \-](bits?)\b", r"8 \1"),
    (r"\btokens? ?/ ?s(?:ec)?\b|\btok ?/ ?s\b", "tok/s"),
    (r"\btop[ \-]?1 (agreement|accuracy|match(?:es)?|overlap)\b", r"top-1 \1"),   # the metric, not "the top one"
    (r"\b(in|on|the) (?:cue|q)$", r"\1 queue"),
    (r"\bthe cue\b", "the queue"),
    (r"\bu\b", "you"), (r"\bur\b", "your"), (r"\br\b(?! ?\d)", "are"), (r"\b(?:plz|pls)\b", "please"),
    (r"\bwhats\b", "what's"), (r"\bwanna\b", "want to"), (r"\bgonna\b", "going to"),
    (r"\bhows\b", "how's"), (r"\bim\b", "i'm"), (r"\bive\b", "i've"), (r"\bidk\b", "i don't know"),
    (r"\bquanti[sz]ation\b|\bquantisation\b|\bquantiz?ation\b", "quantization"),
]]
# Typed or heard variants of the verb -> "quantize" ("quantization" is a noun and stays).
# "fine-tune", "fine tuning": one word, so that it never reads as the tune command
_FINE_TUNE = re.compile(r"\bfine[\s-]+(?=tun(?:e|es|ed|ing|er)\b)")
_QUANTIZE = re.compile(r"\b(?:quanti[sz]e|qu?a?nti?[sz]e|quanit[sz]e|quantie|quantzie|cuantize|"
                       r"kwantize|kwantise|quantize)s?\b")


def normalize(text: str) -> str:
    """The utterance in the form the rules expect (may be empty)."""
    t = unicodedata.normalize("NFKC", text[:MAX_CHARS]).translate(_QUOTES)
    t = _CONTROL.sub(" ", t).lower()
    for pat, rep in _COMPARATORS:
        t = pat.sub(rep, t)
    t = _DROP.sub(" ", t)
    t = _END_DOT.sub(" ", t)
    t = _QUOTE_EDGE.sub(" ", t)
    t = _SPACES.sub(" ", t).strip()
    t = words_to_digits(t)
    t = join_spelled(_QUANTIZE.sub("quantize", _FINE_TUNE.sub("fine", t)))
    for pat, rep in _SPOKEN:
        t = pat.sub(rep, t)
    return fix_verbs(t)


# The command verbs, as the rules spell them. A word the classifier never saw in training
# that is one typo (two for long verbs) from exactly one of them is read as that verb.
VERBS = ("benchmark", "quantize", "compare", "cancel", "explain", "recommend", "measure", "evaluate",
         "tutorial", "suggest", "status")
_ALPHA = re.compile(r"^[a-z]{5,}$")
_INFLECTION = re.compile(r"(?:ing|ed|es|s|d|er|ers|ment|ments|ion|ions)$")


def _inflected(w: str) -> bool:
    """ "measured", "compares", "benchmarking": a verb's own form, not a typo of it."""
    stem = _INFLECTION.sub("", w)
    return stem != w and (stem in VERBS or stem + "e" in VERBS)


def fix_verbs(t: str) -> str:
    """ "pls benchmrak smollm2" -> "pls benchmark smollm2"; known words are left alone."""
    from lqmf.copilot.parser.classifier import known_word

    words = t.split(" ")
    for i, w in enumerate(words):
        if not _ALPHA.match(w) or w in VERBS or _inflected(w) or known_word(w):
            continue
        from rapidfuzz.distance import DamerauLevenshtein

        near = [v for v in VERBS if abs(len(v) - len(w)) <= 2
                and DamerauLevenshtein.distance(w, v) <= (2 if len(v) >= 8 and len(w) >= 7 else 1)]
        if len(near) == 1:
            words[i] = near[0]
    return " ".join(words)
