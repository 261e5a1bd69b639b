"""Numbers written as words, as a speech recognizer writes them: "four" -> 4,
"two point five" -> 2.5, "five hundred" -> 500, "one and a half" -> 1.5.

``words_to_digits`` works on a normalized (lower-case, space-separated) string
and rewrites only the number words, so "smol lm two" becomes "smol lm 2".
A lone "one" is kept ("the fastest one", "which one") unless a unit or a
job/top/number word around it shows it is a number.
"""
from __future__ import annotations

import re

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * (i + 2) for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split())}
SCALES = {"hundred": 100, "thousand": 1000}
NUMBER_WORDS = frozenset(UNITS) | frozenset(TENS) | frozenset(SCALES)

# Words after a number that make a lone "one" a number ("one gig", "one bit").
_UNITY_NEXT = frozenset(
    "bit bits gb gig gigs gigabyte gigabytes mb meg megs megabyte megabytes gib mib tb b billion "
    "day days week weeks month months hour hours year years percent % token tokens tok point "
    "and k".split())
_UNITY_PREV = frozenset("job top number # id q queue cue to".split())
_HYPHEN = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")-(?=[a-z])")
_DIGIT = re.compile(r"^\d+$")


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _digit_word(tok: str) -> str | None:
    if tok in UNITS and UNITS[tok] < 10:
        return str(UNITS[tok])
    if len(tok) == 1 and tok.isdigit():
        return tok
    return None


def _decimals(toks: list[str], j: int) -> tuple[str, int]:
    """After "point": the digit words that follow ("zero five" -> "05")."""
    digits = ""
    while j < len(toks) and (d := _digit_word(toks[j])) is not None:
        digits += d
        j += 1
    if len(digits) > 1 and j < len(toks) and toks[j] == "point":
        digits, j = digits[:-1], j - 1   # "two point five one point five": 2.5 then 1.5
    return digits, j


def _integer(toks: list[str], i: int) -> tuple[int | None, int]:
    total, current, last, j = 0, 0, None, i
    while j < len(toks):
        t = toks[j]
        if t in UNITS:
            if last in ("unit", "tens") and (last == "unit" or UNITS[t] >= 10 or UNITS[t] == 0):
                break
            current += UNITS[t]
            last = "unit"
        elif t in TENS:
            if last in ("unit", "tens"):
                break
            current += TENS[t]
            last = "tens"
        elif t == "hundred" and last in ("unit", "tens"):
            current *= 100
            last = "hundred"
        elif t == "thousand" and last in ("unit", "tens", "hundred"):
            total += current * 1000
            current, last = 0, "thousand"
        elif t == "and" and last == "hundred" and j + 1 < len(toks) and toks[j + 1] in NUMBER_WORDS:
            pass
        else:
            break
        j += 1
    if j == i:
        return None, i
    return total + current, j


def words_to_digits(text: str) -> str:
    if not any(w in text for w in ("one", "two", "three", "four", "five", "six", "seven", "eight",
                                   "nine", "ten", "eleven", "zero", "twe", "teen", "ty", "hundred", "thousand",
                                   "point", "half")):
        return text
    text = _HYPHEN.sub(r"\1 ", text)
    toks = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok in NUMBER_WORDS and tok not in SCALES:
            n, j = _integer(toks, i)
            assert n is not None  # a unit or tens word always starts a number
            value: float = n
            frac = ""
            if j + 1 < len(toks) and toks[j] == "point":
                frac, k = _decimals(toks, j + 1)
                if frac:
                    j = k
            if toks[j:j + 3] == ["and", "a", "half"]:
                value, j = value + 0.5, j + 3
            lone_one = tok == "one" and j == i + 1
            if lone_one:
                nxt = toks[j] if j < len(toks) else ""
                prev = out[-1] if out else ""
                if nxt not in _UNITY_NEXT and prev not in _UNITY_PREV:
                    out.append(tok)
                    i += 1
                    continue
            out.append(_fmt(value) + ("." + frac if frac else ""))
            i = j
            continue
        if tok == "point" and i + 1 < len(toks):
            frac, k = _decimals(toks, i + 1)
            if frac:
                if out and _DIGIT.match(out[-1]):
                    out[-1] = out[-1] + "." + frac
                else:
                    out.append("0." + frac)
                i = k
                continue
        if tok == "half" and i + 1 < len(toks) and toks[i + 1] in ("a", "an"):
            out.append("0.5")
            i += 2
            continue
        out.append(tok)
        i += 1
    return " ".join(out)


def to_number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if value == value and value != float("inf") else None


def clean_number(value: float) -> int | float:
    """2.0 -> 2, 0.5 -> 0.5 (JSON stays tidy)."""
    value = round(value, 4)
    return int(value) if value == int(value) else value
