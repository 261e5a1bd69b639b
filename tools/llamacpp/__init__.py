"""llama.cpp glue: the sdist's converter, and thin helpers over llama-cpp-python."""
from __future__ import annotations

import os

from tools.errors import MissingComponent


def load():
    """Import llama_cpp with its C logging quiet (``LQMF_LLAMA_VERBOSE=1`` shows it)."""
    try:
        import llama_cpp
        from llama_cpp import _logger
    except ImportError:
        raise MissingComponent("llama-cpp-python is not installed",
                               "run `make setup` (it builds it once, about 5 minutes)") from None
    _logger.set_verbose(os.environ.get("LQMF_LLAMA_VERBOSE") == "1")
    return llama_cpp
