"""The fixed evaluation text (see README.md for its origin and license)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT = "jargon-prose"


@dataclass(frozen=True)
class EvalText:
    name: str
    path: Path
    text: str
    sha256: str


@lru_cache(maxsize=None)
def load(name: str = DEFAULT) -> EvalText:
    path = Path(__file__).resolve().parent / f"{name}.txt"
    data = path.read_bytes()
    return EvalText(name, path, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
