"""Files that are either complete or absent: temp-then-rename, locks, disk checks."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from tools.errors import ArtifactBusy, NotEnoughDisk

_PARTIAL = re.compile(r"\.partial-(\d+)$")


def partial_path(final: Path) -> Path:
    """Where a file or folder is written before it is renamed into place."""
    return final.with_name(f".{final.name}.partial-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_partials(folder: Path) -> list[Path]:
    """Remove partial outputs left by runs that died (their pid is gone)."""
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _PARTIAL.search(p.name)
        if m and not _pid_alive(int(m.group(1))):
            _remove(p)
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_output(final: Path) -> Iterator[Path]:
    """Yield a temp path next to ``final``; rename it into place on success,
    remove it on any failure (Ctrl-C included)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_partials(final.parent)
    tmp = partial_path(final)
    _remove(tmp)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp} was not written")
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def exclusive(final: Path) -> Iterator[None]:
    """Hold a lock on ``final`` so two runs never write the same output."""
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = final.with_name(f".{final.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise ArtifactBusy(
                    f"another run is writing {final} right now",
                    "wait for it to finish (see `lqmf jobs`) or choose another --out") from None
            raise
        yield
    finally:
        os.close(fd)  # releases the lock; the lock file itself is harmless


def ensure_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse to start when ``needed`` bytes (plus 5% margin) do not fit."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    margin = int(needed * 1.05) + (16 << 20)
    if free < margin:
        raise NotEnoughDisk(
            f"{what} needs about {human_bytes(margin)} but {folder} has only {human_bytes(free)} free",
            "free some space or pass --out on another disk")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
