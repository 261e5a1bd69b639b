"""The user's stated preference for recommendations: how much speed, quality
and size weigh, and ratings of what was recommended. Feedback ("too slow",
"too lossy", "too big", a 1-5 rating) changes it; the next ranking reads it.
Kept in the data dir (``recommend_prefs.json``)."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path


class Feedback(StrEnum):
    TOO_SLOW = "too_slow"
    TOO_LOSSY = "too_lossy"
    TOO_BIG = "too_big"
    RATING = "rating"


# What each kind of feedback raises, and by how much (weights start at 1.0)
RAISES = {Feedback.TOO_SLOW: "speed", Feedback.TOO_LOSSY: "quality", Feedback.TOO_BIG: "size"}
STEP = 1.6
WORDS = [
    (Feedback.TOO_SLOW, re.compile(r"\b(?:too|very|so|really) slow\b|\bfaster\b|\bsluggish\b|\bslow(?:er)? than\b")),
    (Feedback.TOO_LOSSY, re.compile(r"\b(?:too|very|so) (?:lossy|dumb|bad|inaccurate|stupid)\b|\bquality (?:is )?(?:bad|poor|too low)\b"
                                    r"|\bbetter quality\b|\bless lossy\b|\bmore accurate\b")),
    (Feedback.TOO_BIG, re.compile(r"\b(?:too|very|so) (?:big|large|heavy)\b|\bsmaller\b|\buses too much memory\b")),
]
_RATING = re.compile(r"\b(?:rate(?: it)?|rating|i give it|give it)\s*(?:a\s*)?([1-5])(?:\s*(?:/|out of)\s*5)?\b|\b([1-5])\s*(?:/|out of)\s*5\b")


def read_feedback(text: str) -> tuple[Feedback, int | None] | None:
    """("too slow" -> TOO_SLOW, None), ("rate it 4/5" -> RATING, 4), or None."""
    t = text.lower()
    m = _RATING.search(t)
    if m:
        return Feedback.RATING, int(m.group(1) or m.group(2))
    for kind, rx in WORDS:
        if rx.search(t):
            return kind, None
    return None


@dataclass
class Prefs:
    speed: float = 1.0
    quality: float = 1.0
    size: float = 1.0
    ratings: dict[str, int] = field(default_factory=dict)   # "model|quant" -> 1..5
    last_request: dict = field(default_factory=dict)         # the last recommendation's request
    last_top: list[str] = field(default_factory=list)        # its ranked "model|quant"
    last_top_tok_s: float | None = None                      # the predicted speed of its top pick
    min_tok_s: float | None = None                           # "too slow": faster than what was too slow

    def weight(self, name: str) -> float:
        return float(getattr(self, name))

    def to_dict(self) -> dict:
        return asdict(self)


def path() -> Path:
    from lqmf.tools.config import data_dir

    return data_dir() / "recommend_prefs.json"


def load() -> Prefs:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
        return Prefs(**{k: v for k, v in data.items() if k in Prefs.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return Prefs()


def save(p: Prefs) -> None:
    from lqmf.tools.fsutil import atomic_output

    path().parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path(), replace_file=True) as tmp:
        tmp.write_text(json.dumps(p.to_dict(), indent=1), encoding="utf-8")


def apply(p: Prefs, kind: Feedback, rating: int | None = None, target: str | None = None) -> str:
    """Change ``p`` for one piece of feedback; the sentence saying what changed."""
    if kind is Feedback.RATING:
        target = target or (p.last_top[0] if p.last_top else None)
        if not target or rating is None:
            return "There is no recommendation to rate yet."
        p.ratings[target] = int(rating)
        return f"Noted: {target.replace('|', ' at ')} rated {rating}/5; it moves {'up' if rating >= 4 else 'down' if rating <= 2 else 'nowhere'} next time."
    name = RAISES[kind]
    before = p.weight(name)
    setattr(p, name, round(min(8.0, before * STEP), 3))
    said = f"I now weigh {name} {p.weight(name):g}x (was {before:g}x)"
    if kind is Feedback.TOO_SLOW and p.last_top_tok_s:
        p.min_tok_s = round(max(p.min_tok_s or 0.0, p.last_top_tok_s * 1.5), 1)
        said += f" and look for at least {p.min_tok_s:g} tok/s"
    return said + "."
