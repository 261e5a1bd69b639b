"""Child processes die with their parent: a kill -9 of `lqmf quantize` must not
leave llama.cpp's converter writing a 270 MB partial file on its own."""
from __future__ import annotations

import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: have the kernel send ``sig`` to this process when its parent
    dies. Meant as ``preexec_fn`` of a Popen (runs in the child)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
