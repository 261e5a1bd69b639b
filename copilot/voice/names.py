"""Model names as a speech recognizer mangles them, set right before the parser
reads the transcript: a name whose letters are right but whose numbers were
misheard ("gemma3-250m" -> gemma3-270m, "lama3.5-1b" -> llama-3.2-1b), and
"tune" heard as "do"/"to" in front of a model name. The parser's own fuzzy
matching keeps the digits exact (a typed "qwen2.5-3b" is never another model);
here, a name that matches no known model is snapped to the one nearest it when
that one is unambiguous. Names and aliases come from the parser's lexicon (the
catalog and the store's known models)."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"[A-Za-z][\w.\-]*\d[\w.\-]*|[A-Za-z][\w.\-]*")
_LETTERS = re.compile(r"[^a-z]")
_DIGIT_ONLY = re.compile(r"\D")
_TUNE = re.compile(r"^(?:do|to|two|tu|chun)\s+", re.I)


def _near(key: str, keys: dict[str, str]) -> str | None:
    """The single known name within reach of ``key`` (squashed), digits allowed to differ."""
    from rapidfuzz.distance import Levenshtein

    if key in keys or len(key) < 6 or not re.search(r"\d", key):
        return None
    letters, digits = _LETTERS.sub("", key), _DIGIT_ONLY.sub("", key)
    best: list[tuple[int, str]] = []
    for k, display in keys.items():
        # at most one letter and one digit wrong ("lama3.5-1b" -> llama-3.2-1b), never two digits
        if not re.search(r"\d", k) or Levenshtein.distance(_LETTERS.sub("", k), letters) > 1 \
                or Levenshtein.distance(_DIGIT_ONLY.sub("", k), digits) > 1:
            continue
        best.append((Levenshtein.distance(k, key), display))
    best.sort()
    if not best or len(best) > 1 and best[1][0] == best[0][0] and best[1][1] != best[0][1]:
        return None
    return best[0][1]


# a family name misheard as another word, then its version heard right: "armour 3.2-1b",
# "5-3-mini", "when 2.5-7b" (the tail: a version, then a size or a size word)
_FAMILY_TAIL = re.compile(r"\b([A-Za-z]+|\d)[\s-]+(\d{1,2}(?:\.\d)?[\s-]+(?:\d+(?:\.\d+)?[bBmM]|mini|medium|small|large))\b")
_NOT_A_NAME = frozenset("a an the to of and or in at on for with from my is it this that".split())


def _family(text: str, keys: dict[str, str]) -> str:
    """The one known model that ends in the heard version tail, for the word heard before it."""
    from lqmf.copilot.parser.models import squash

    def repl(m: re.Match[str]) -> str:
        word, tail = m.group(1), squash(m.group(2).lower())
        if word.lower() in _NOT_A_NAME or squash((word + m.group(2)).lower()) in keys:
            return m.group(0)
        found = {display for k, display in keys.items() if k.endswith(tail) and not k[:-len(tail)][-1:].isdigit()
                 and k != tail}
        return found.pop() if len(found) == 1 else m.group(0)
    return _FAMILY_TAIL.sub(repl, text)


def snap_models(text: str) -> str:
    """``text`` with near-miss model names replaced by the known ones."""
    from lqmf.copilot.parser.models import lexicon, squash

    keys = lexicon().keys
    text = _family(text, keys)
    out = []
    last = 0
    for m in _TOKEN.finditer(text):
        word = m.group(0).rstrip(".-")
        near = _near(squash(word.lower()), keys)
        if near:
            out.append(text[last:m.start()] + near)
            last = m.start() + len(word)
    out.append(text[last:])
    text = "".join(out)
    return _tune_verb(text, keys)


def _tune_verb(text: str, keys: dict[str, str]) -> str:
    """"Do gemma3-270m" -> "tune gemma3-270m": a bare model name after a word that sounds like
    "tune" at the start of the command."""
    from lqmf.copilot.parser.models import squash

    m = _TUNE.match(text)
    if not m:
        return text
    rest = text[m.end():].split()
    if rest and squash(rest[0].lower().rstrip(".,")) in keys:
        return "tune " + text[m.end():]
    return text
