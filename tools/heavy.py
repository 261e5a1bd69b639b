"""One process-wide lock for importing heavy libraries.

Two threads importing numpy, torch, chromadb or langgraph at the same time can
see each other's half-initialised modules ("cannot import name 'NDArray' from
partially initialized module 'numpy._typing'"). Every background warm-up (the
embedder, the chat graph) and every main-thread import of such a library goes
through ``imports()``, so only one thread imports them at a time; the work
after the import (loading weights, opening a store) still overlaps.
"""
from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable, Iterator

IMPORT_LOCK = threading.RLock()


@contextlib.contextmanager
def imports() -> Iterator[None]:
    """Hold the heavy-import lock for the imports in the body."""
    with IMPORT_LOCK:
        yield


def warm_in_background(work: Callable[[], None], name: str) -> threading.Thread:
    """Run a warm-up (loading a library or a model) in a daemon thread that the
    process waits for at exit: a process that ends while the thread is inside
    torch's start-up aborts ("terminate called without an active exception")."""
    t = threading.Thread(target=work, name=name, daemon=True)
    t.start()
    atexit.register(t.join)
    return t
