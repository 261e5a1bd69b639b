"""Small files beside the experiment store: the known-models list the parser
reads, atomic JSON writes, a SQLite header check and the cross-process write lock."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Iterator


def read_known(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [str(x) for x in data] if isinstance(data, list) else []
    except (OSError, json.JSONDecodeError):
        return []


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=0), encoding="utf-8")
    os.replace(tmp, path)


def looks_like_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head == b"SQLite format 3\x00" or head == b""


@contextlib.contextmanager
def write_lock(path: Path, timeout: float, what: str) -> Iterator[None]:
    """An exclusive flock on ``path`` (one writer at a time across processes);
    StoreLocked after ``timeout`` seconds, naming ``what``."""
    from lqmf.tools.errors import StoreLocked

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreLocked(
                        f"the experiment store at {what} is locked by another process "
                        f"for more than {timeout:.0f} s",
                        "wait for the other lqmf command to finish, then retry") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
