"""Progress reporting shared by the engines: a callback, and a file-size watcher
for work done inside C code or a subprocess."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str, "float | None"], None]


def noop(stage: str, fraction: float | None) -> None:
    pass


class FileGrowth:
    """Reports ``size(path) / expected`` every ``interval`` s while active."""

    def __init__(self, path: Path, expected: int, stage: str, progress: Progress, interval: float = 0.2):
        self.path, self.expected, self.stage, self.progress = path, max(1, expected), stage, progress
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                size = self.path.stat().st_size
            except OSError:
                size = 0
            self.progress(self.stage, min(0.99, size / self.expected))

    def __enter__(self) -> "FileGrowth":
        self.progress(self.stage, 0.0)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_in_thread(fn: Callable[[], object], poll: float = 0.1) -> object:
    """Run a blocking C call in a daemon thread so Ctrl-C reaches the main
    thread at once (the caller then removes its temp files and exits)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    while t.is_alive():
        t.join(poll)
    if isinstance(err := box.get("error"), BaseException):
        raise err
    return box.get("result")


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = time.perf_counter() - self.start
