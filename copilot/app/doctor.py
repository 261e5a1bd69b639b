"""Doctor and setup: this machine, the llama.cpp build, the libraries, the self-check."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


def doctor(app: "App", *, check: bool = True) -> Any:
    """The report (``tools.doctor.Report``: machine, llama, versions, checks, ok)."""
    from lqmf.tools.doctor import doctor as engine

    return engine(check=check)


def advice(report: Any) -> str | None:
    """What to do about the llama.cpp build, if anything."""
    from lqmf.tools.doctor import build_advice

    return build_advice(report.llama)


def install_converter(app: "App", *, force: bool = False) -> str:
    """Take llama.cpp's HF->GGUF converter from the sdist; its path."""
    from lqmf.tools.llamacpp.sdist import install_converter as engine

    return str(engine(force=force))


def self_check(app: "App") -> list[Any]:
    """Quantize and score every bundled model (``CheckResult`` each)."""
    from lqmf.tools.doctor import self_check as engine

    return list(engine())
