"""The audit log: every mutating call (from the API, the CLI or the chat) as one
JSON line appended to ``<data dir>/audit.jsonl``: who, through what, what, when,
and the result. Each line carries the SHA-256 of the line before it, so an edit
or a removed line shows in ``verify()``; nothing in lqmf rewrites the file, and
the API has no route that writes it.

``acting(actor, via)`` says who is calling (the server sets the token's name and
"api"; the CLI the OS user and "cli"; the chat session "chat"); ``@audited(action)``
on an application-layer function records one entry per outermost call."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import getpass
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
FILE = "audit.jsonl"
GENESIS = "0" * 64


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return f"uid {os.getuid()}"


_who: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("lqmf_audit_who", default=None)
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("lqmf_audit_depth", default=0)


@dataclass
class Entry:
    at: float
    actor: str
    via: str            # api, cli, chat
    action: str         # quantize.queue, jobs.cancel, token.add, ...
    target: str
    result: str         # ok, or the error's one sentence
    ok: bool
    prev: str = GENESIS
    hash: str = ""


def path() -> Path:
    from lqmf.tools.config import data_dir

    return data_dir() / FILE


def who() -> tuple[str, str]:
    return _who.get() or (_os_user(), "cli")


@contextlib.contextmanager
def acting(actor: str | None = None, via: str | None = None) -> Iterator[None]:
    """Calls inside the block are recorded as ``actor`` through ``via`` (either kept when None)."""
    cur = who()
    tok = _who.set((actor or cur[0], via or cur[1]))
    try:
        yield
    finally:
        _who.reset(tok)


def _digest(e: Entry) -> str:
    body = {k: v for k, v in asdict(e).items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def record(action: str, target: str = "", *, ok: bool = True, result: str = "ok") -> Entry:
    """Append one entry (under an exclusive lock, so concurrent writers chain correctly)."""
    import fcntl

    actor, via = who()
    p = path()
    with open(p, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            prev = _last_hash(f)
            e = Entry(time.time(), actor, via, action, target[:500], result[:500], ok, prev)
            e.hash = _digest(e)
            f.seek(0, os.SEEK_END)
            f.write(json.dumps(asdict(e), sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
    return e


def _last_hash(f) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    if not size:
        return GENESIS
    f.seek(max(0, size - 8192))
    tail = f.read().splitlines()
    for line in reversed(tail):
        try:
            return str(json.loads(line)["hash"])
        except (ValueError, KeyError, TypeError):
            continue
    return GENESIS


def entries(limit: int | None = None) -> list[Entry]:
    """The entries, oldest first (``limit``: only the newest N)."""
    p = path()
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(Entry(**json.loads(line)))
        except (ValueError, TypeError):
            out.append(Entry(0, "?", "?", "unreadable line", line[:80], "unreadable", False, "", ""))
    return out[-limit:] if limit else out


def verify() -> list[str]:
    """Problems with the chain (an edited, removed or unreadable line), or []."""
    problems, prev = [], GENESIS
    for n, e in enumerate(entries(), 1):
        if e.prev != prev or e.hash != _digest(e):
            problems.append(f"line {n} ({e.action}) was changed or a line before it was removed")
        prev = e.hash
    return problems


def _target(args: tuple, kwargs: dict) -> str:
    parts = [str(a) for a in args if isinstance(a, (str, int, float, list, tuple))]
    parts += [f"{k}={v}" for k, v in kwargs.items() if v not in (None, False, [], {}) and not callable(v)
              and k not in ("stream",)]
    return " ".join(parts)


def audited(action: str) -> Callable[[F], F]:
    """Record each outermost call of the decorated function (its arguments, and ok or the error)."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            depth = _depth.get()
            tok = _depth.set(depth + 1)
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                if depth == 0:
                    record(action, _target(args[1:], kwargs), ok=False, result=str(e) or type(e).__name__)
                raise
            finally:
                _depth.reset(tok)
            if depth == 0:
                record(action, _target(args[1:], kwargs), result=_summary(result))
            return result
        return inner  # type: ignore[return-value]
    return wrap


def _summary(result: Any) -> str:
    if isinstance(result, str):
        return f"ok {result}"
    if isinstance(result, list) and all(isinstance(x, str) for x in result):
        return "ok " + " ".join(result)
    rid = getattr(result, "id", None)
    return f"ok {rid}" if rid else "ok"
