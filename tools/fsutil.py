"""Files that are either complete or absent: temp-then-rename, locks, disk checks."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from lqmf.tools.errors import ArtifactBusy, LqmfError, NotEnoughDisk, OutputInTheWay, from_os_error, short_path

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
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _PARTIAL.search(p.name)
        if m and not _pid_alive(int(m.group(1))):
            _remove(p)
            removed.append(p)
    return removed


def ensure_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents); a file in the way, a read-only
    disk or a too-long name is one sentence."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputInTheWay(f"{short_path(folder)} exists and is not a folder",
                             "choose a folder path, or move that file away") from None
    except OSError as e:
        raise from_os_error(e, folder) from None
    return folder


def check_output(final: Path, replace_file: bool = False) -> None:
    """Refuse an output path that holds something we may not replace: a
    folder, a device, a link or other special file always; a regular file
    unless ``replace_file`` (the user passed --force, or lqmf wrote it)."""
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        return
    except OSError as e:
        raise from_os_error(e, final) from None
    where = short_path(final)
    if stat.S_ISDIR(st.st_mode):
        raise OutputInTheWay(f"{where} is a folder, and lqmf never replaces a folder",
                             "name a file path that is not taken, or move the folder away")
    if stat.S_ISLNK(st.st_mode):
        raise OutputInTheWay(f"{where} is a symbolic link, which lqmf will not replace",
                             "name the link's target or another path")
    if not stat.S_ISREG(st.st_mode):
        raise OutputInTheWay(f"{where} is a device or special file, not a regular file",
                             "name a regular file path")
    if not replace_file:
        raise OutputInTheWay(f"{where} already exists and was not written by lqmf",
                             "pass --force to replace it, or choose another path")


@contextlib.contextmanager
def atomic_output(final: Path, replace_file: bool = False) -> Iterator[Path]:
    """Yield a temp path next to ``final``; rename it into place on success,
    remove it on any failure (Ctrl-C included). Nothing at ``final`` is
    replaced unless ``check_output`` allows it (checked before and after the
    body); a full disk or a read-only folder is one sentence."""
    check_output(final, replace_file)
    ensure_folder(final.parent)
    clean_stale_partials(final.parent)
    tmp = partial_path(final)
    _remove(tmp)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp} was not written")
        check_output(final, replace_file)
        os.replace(tmp, final)
    except BaseException as e:
        _remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, LqmfError) and e.errno is not None:
            if e.filename is not None and str(e.filename).startswith(str(tmp)):
                e.filename = str(final)  # name the output, not our temp file
            raise from_os_error(e, final) from e
        raise


def _shared_cache(path: Path) -> bool:
    from lqmf.tools.config import cache_dir

    try:
        return path.resolve().is_relative_to(cache_dir().resolve())
    except (OSError, LqmfError):
        return False


@contextlib.contextmanager
def exclusive(final: Path, wait: bool | None = None) -> Iterator[None]:
    """Hold a lock on ``final`` so two runs never write the same output. A
    user's output busy elsewhere is refused; an entry of the shared cache
    (which ``--out`` cannot move) is waited for (``wait`` overrides)."""
    ensure_folder(final.parent)
    lock = final.with_name(f".{final.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise from_os_error(e, lock) from None
    try:
        if wait is None:
            wait = _shared_cache(final)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
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
    ensure_folder(folder)
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


def unique_aside(path: Path, tag: str, suffixes: tuple[str, ...] = ("", "-wal", "-shm")) -> Path:
    """A new name beside ``path`` for moving a damaged file aside
    (``NAME.TAG-YYYYmmdd-HHMMSS``, then ``-2``, ``-3`` ...): never one that exists,
    so a second recovery in the same second keeps the first backup."""
    import time

    base = f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}"
    n = 1
    while True:
        name = base if n == 1 else f"{base}-{n}"
        cand = path.with_name(name)
        if not any(os.path.lexists(str(cand) + s) for s in suffixes):
            return cand
        n += 1
