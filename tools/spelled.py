"""Terms said letter by letter, as a speech recognizer or a user typing what they heard
writes them: "cue eight oh" (Q8_0), "gee pee tee queue" (GPTQ), "en eff four" (NF4),
"eye queue four ex ess" (IQ4_XS), "kay el divergence" (KL divergence).

A run of letter names, single letters and digits is joined only when the joined letters are
a term the parser knows: a declared quant type, a method (QuantMethod), or one of the acronyms below. Every
other run is left as it was, so the words among the letter names ("see", "you", "queue",
"oh", "why") keep their meaning everywhere else ("what's in the queue", "see you")."""
from __future__ import annotations

import re

from lqmf.tools.quantize.registry import Registry, current
from lqmf.tools.quantize.types import QuantMethod

# the name of each letter as it is said or heard; single letters stand for themselves
_NAMES = {
    "ay": "a", "bee": "b", "be": "b", "see": "c", "cee": "c", "sea": "c", "dee": "d", "ee": "e",
    "eff": "f", "ef": "f", "gee": "g", "jee": "g", "aitch": "h", "eye": "i", "jay": "j", "kay": "k",
    "el": "l", "ell": "l", "em": "m", "en": "n", "pee": "p", "pea": "p", "cue": "q", "queue": "q",
    "kew": "q", "que": "q", "ar": "r", "are": "r", "ess": "s", "es": "s", "tee": "t", "tea": "t",
    "you": "u", "vee": "v", "ex": "x", "why": "y", "zee": "z", "zed": "z", "oh": "0",
}
# what a joined run may spell besides the quant types and methods (the lexicon's words)
_ACRONYMS = frozenset("kl kld kv ppl bpw rss ngl cpu gpu rtn fp16 bf16 fp32 fp8 int8 int4 nf4 fp4 llm".split())
_DIGITS = re.compile(r"^\d{1,3}$")
_Q_DIGIT = re.compile(r"^q\d$")   # "q4 kay em"


def _terms(reg: Registry) -> dict[str, str]:
    """joined letters -> the word the parser reads ("q4km" -> "q4_k_m")."""
    out = {a: a for a in (*_ACRONYMS, *(m.value for m in QuantMethod))}
    for t in reg.types():
        name = str(t).lower()
        out.setdefault(name.replace("_", ""), name)
    for bits in "345":   # "cue four kay": the grammar's default k-quant of that width
        out.setdefault(f"q{bits}k", f"q{bits}_k")
    return out


def _letter(tokens: list[str], i: int) -> tuple[str, int] | None:
    """The letter or digits at ``tokens[i]`` and how many tokens they take, or None."""
    w = tokens[i]
    if w == "double" and i + 1 < len(tokens) and tokens[i + 1] in ("you", "u"):
        return "w", 2
    if len(w) == 1 and w.isalpha():
        return w, 1
    if _DIGITS.match(w) or _Q_DIGIT.match(w):
        return w, 1
    if w in _NAMES:
        return _NAMES[w], 1
    return None


def join_spelled(text: str, reg: Registry | None = None) -> str:
    """``text`` (normalized: lower case, digits) with each spelled-out known term joined."""
    terms = (reg or current()).derived("parser.spelled", _terms)
    tokens = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        pieces: list[tuple[str, int]] = []   # (letters, tokens used so far) from position i
        j, letters = i, ""
        while j < len(tokens) and (got := _letter(tokens, j)):
            letters += got[0]
            j += got[1]
            pieces.append((letters, j))
        match = next(((terms[s], end) for s, end in reversed(pieces) if end - i >= 2 and s in terms), None)
        if match:
            out.append(match[0])
            i = match[1]
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)
