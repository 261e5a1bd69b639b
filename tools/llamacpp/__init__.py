"""llama.cpp glue: the sdist's converter, and thin helpers over llama-cpp-python."""
from __future__ import annotations

import ctypes
import sys

from lqmf.tools.errors import MissingComponent

# ggml's log levels in the vendored llama.cpp (ggml.h): the table inside
# llama-cpp-python's own logger predates DEBUG=1 and maps WARN to ERROR, so
# warnings leak through verbose=False. We install our own filter instead.
GGML_LOG_ERROR, GGML_LOG_CONT = 4, 5
_callback = None
_last_shown = False


def load():
    """Import llama_cpp with its C logging quiet: errors only
    (``LQMF_LLAMA_VERBOSE=1`` shows everything)."""
    global _callback
    try:
        import llama_cpp
    except ImportError:
        raise MissingComponent("llama-cpp-python is not installed",
                               "run `make setup` (it builds it once, about 5 minutes)") from None
    if _callback is None:
        from lqmf.tools.settings import get

        verbose = bool(get("compute.llama_verbose"))

        @llama_cpp.llama_log_callback
        def _log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            global _last_shown
            show = verbose or level == GGML_LOG_ERROR or (level == GGML_LOG_CONT and _last_shown)
            if level != GGML_LOG_CONT:
                _last_shown = show
            if show:
                sys.stderr.write(text.decode("utf-8", errors="replace"))

        _callback = _log  # keep a reference: C holds only a pointer
        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        from lqmf.tools.llamacpp.runtime import guard_llama_class

        guard_llama_class()  # models loaded through llama_cpp.Llama get the AMX guard too
    return llama_cpp
