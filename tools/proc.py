"""Engine child processes: how they are started, watched and explained.

Every llama.cpp evaluation runs in a child (``python -m MODULE``) so that a
crash in C becomes one sentence, never a dead CLI or a bare "exit code -11".
The child dies with its parent (``PR_SET_PDEATHSIG``), reports progress on
stderr as ``PROGRESS_MARK stage fraction`` lines, and prints its JSON result as
the last line of stdout.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

from lqmf.tools.errors import BackendFailed, LqmfError, from_backend
from lqmf.tools.progress import Progress, noop

PROGRESS_MARK = "\x1elqmf-progress"


# What a signal death most likely means, in a user's words.
SIGNAL_CAUSES = {
    signal.SIGSEGV: "a segmentation fault inside the engine, often a llama.cpp build that does not suit this CPU",
    signal.SIGILL: "an illegal instruction, a llama.cpp build made for another CPU",
    signal.SIGBUS: "a bus error, a model file changed or truncated while it was read",
    signal.SIGABRT: "an abort inside the engine, a failed assertion in llama.cpp",
    signal.SIGFPE: "an arithmetic fault inside the engine",
    signal.SIGKILL: "killed, usually because the system ran out of memory",
    signal.SIGTERM: "asked to stop",
}


def signal_error(what: str, returncode: int) -> LqmfError:
    """The sentence for a child that died by signal ``-returncode``."""
    sig = signal.Signals(-returncode)
    cause = SIGNAL_CAUSES.get(sig, "a signal")
    return BackendFailed(f"{what} died with {sig.name} ({cause})",
                         "run `lqmf doctor` to check the llama.cpp build and this machine, then try again")


def child_error(what: str, returncode: int, stderr: str) -> LqmfError:
    if returncode < 0:
        try:
            return signal_error(what, returncode)
        except ValueError:
            pass
    # a child reports its own LqmfError as "error: <sentence>" on its last stderr line
    lines = [ln for ln in stderr.strip().splitlines() if ln and not ln.startswith(PROGRESS_MARK)]
    for ln in reversed(lines):
        if ln.startswith("error: "):
            return BackendFailed(ln[len("error: "):].rstrip("."))
    return from_backend("\n".join(lines) or f"exit status {returncode}", what)


PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: have the kernel send ``sig`` to this process when its parent dies.
    Meant as ``preexec_fn`` of a Popen (runs in the child between fork and exec):
    a kill -9 of lqmf must not leave an engine or the converter running."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)  # `lqmf` is installed (editable or wheel): the child finds it as we did
    env.update(extra or {})
    return env


def _spawn(module: str, args: Sequence[str] = ()) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env(), preexec_fn=die_with_parent)


class Prestarted:
    """A child started before its request is known, so that its Python start and
    imports run while the parent is still resolving what to do. ``run_child``
    takes it (once) for a request to the same module; closed unused, it is
    killed (a child that reads an empty request also exits doing nothing)."""

    def __init__(self, module: str, args: Sequence[str] = ()):
        self.module, self.args = module, tuple(args)
        self._proc: subprocess.Popen | None = _spawn(module, args)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def take(self, module: str, args: Sequence[str]) -> subprocess.Popen | None:
        if self._proc is None or (module, tuple(args)) != (self.module, self.args):
            return None
        proc, self._proc = self._proc, None
        return proc

    def close(self) -> None:
        """Unused: stop it now (it holds no files of ours; it may be mid-import)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.communicate()

    def __enter__(self) -> "Prestarted":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_child(module: str, request: dict, *, what: str, progress: Progress = noop,
              timeout: float | None = None, args: Sequence[str] = (),
              prestarted: Prestarted | None = None) -> dict:
    """Run ``python -m module`` with ``request`` as JSON on stdin; return its JSON
    result. ``prestarted``: a child of that module already started, used if free."""
    proc = (prestarted.take(module, args) if prestarted else None) or _spawn(module, args)
    err_lines: list[str] = []

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(PROGRESS_MARK):
                parts = line.split()
                try:
                    progress(parts[1], None if parts[2] == "-" else float(parts[2]))
                except (IndexError, ValueError):
                    pass
            else:
                err_lines.append(line)
                if len(err_lines) > 400:
                    del err_lines[:200]

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
        except BrokenPipeError:  # the child died before it read its request: its exit status says why
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        out = proc.stdout.read()
        proc.wait(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        t.join(timeout=5)
    if proc.returncode != 0:
        raise child_error(what, proc.returncode, "".join(err_lines))
    last = out.strip().splitlines()[-1:] or ["{}"]
    try:
        return json.loads(last[0])
    except json.JSONDecodeError:
        raise BackendFailed(f"{what} returned no result ({last[0][:200]})",
                            "run `lqmf doctor`, then try again") from None


# -- the child's side ---------------------------------------------------------

def report(stage: str, fraction: float | None) -> None:
    """Progress from inside a child, read by ``run_child`` in the parent."""
    frac = "-" if fraction is None else f"{fraction:.4f}"
    sys.stderr.write(f"{PROGRESS_MARK} {stage} {frac}\n")
    sys.stderr.flush()


def child_main(handler, preload=None) -> int:
    """Entry point of a child module: request JSON on stdin, result JSON on stdout.
    ``preload`` (the heavy imports) runs before the request is read; its errors
    are left for the handler to meet and report. No request: exit quietly."""
    if preload is not None:
        try:
            preload()
        except Exception:  # noqa: BLE001 - the handler meets it again and says what is wrong
            pass
    try:
        raw = sys.stdin.read()
        if not raw.strip():
            return 0  # a prestarted child that was not needed
        request = json.loads(raw)
        result = handler(request)
    except LqmfError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0
