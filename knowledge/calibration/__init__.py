"""Use-case calibration texts for importance matrices (see README.md for their
origin and licence). A name (chat, code, math, creative) or a path to a
user's own .txt file."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Use(StrEnum):
    CHAT = "chat"
    CODE = "code"
    MATH = "math"
    CREATIVE = "creative"


@dataclass(frozen=True)
class CalibrationText:
    name: str            # the use, or the file's stem
    path: Path
    sha256: str


def check_name(name: str) -> str:
    """A use name or an existing .txt path; else one sentence with the choices."""
    from lqmf.tools.errors import InvalidInput

    if name in {u.value for u in Use} or Path(name).expanduser().is_file():
        return name
    raise InvalidInput(f"{name!r} is neither a calibration use nor a text file",
                       "use one of " + ", ".join(u.value for u in Use) + ", or give a path to a .txt file")


def load(name: str) -> CalibrationText:
    check_name(name)
    path = Path(__file__).resolve().parent / f"{name}.txt" if name in {u.value for u in Use} \
        else Path(name).expanduser().resolve()
    data = path.read_bytes()
    return CalibrationText(name if name in {u.value for u in Use} else path.stem, path,
                           hashlib.sha256(data).hexdigest())
