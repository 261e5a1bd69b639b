"""Data LQMF reads: the model catalog, quant-type facts, explain docs, tutorials,
the evaluation text. Found through this package, from a checkout or an install."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    return ROOT.joinpath(*parts)


@lru_cache(maxsize=None)
def load_toml(name: str) -> dict:
    with open(path(name), "rb") as f:
        return tomllib.load(f)


def catalog() -> list[dict]:
    """Every model family entry of ``catalog.toml``."""
    return list(load_toml("catalog.toml")["model"])
