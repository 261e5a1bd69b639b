"""The learned intent classifier: a multinomial logistic regression over
``features.extract``, trained by ``copilot.parser.train`` from the dev and
tuning sets (never the held-out set) and shipped as ``intent_model.json``.
Scoring is a sparse dot product in pure Python (no numpy at start-up)."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("intent_model.json")


@lru_cache(maxsize=1)
def _model(path: str = str(MODEL_FILE)) -> tuple[list[str], dict[str, list[float]]] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return list(data["classes"]), dict(data["weights"])
    except (OSError, ValueError, KeyError):
        return None   # no artifact: the rules decide alone


def known_word(word: str) -> bool:
    """Whether the classifier was trained on this word (a word feature of it exists)."""
    model = _model()
    return model is not None and ("w:" + word) in model[1]


def available() -> bool:
    return _model() is not None


def probabilities(feats: dict[str, float]) -> dict[str, float] | None:
    """Intent -> probability, or None when the model file is missing or unreadable."""
    model = _model()
    if model is None:
        return None
    classes, weights = model
    z = [0.0] * len(classes)
    for name, value in feats.items():
        w = weights.get(name)
        if w is not None:
            for i, wi in enumerate(w):
                z[i] += wi * value
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return {c: v / total for c, v in zip(classes, e)}
