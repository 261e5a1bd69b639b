"""Running one fuzz case and checking what every case must hold: one sentence
on stderr (``error: ...``), the exit code, no traceback, nothing partial on
disk, nothing outside the output path touched, no record lost."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.conftest import LQMF, ROOT, partial_files

# markers in assertion messages; the summary counts failures by them
TRACEBACK, TOUCHED, LOST, PARTIAL, SENTENCE, CODE, ORPHAN = (
    "TRACEBACK", "TOUCHED-OUTSIDE", "LOST-RECORD", "PARTIAL-FILE", "NOT-ONE-SENTENCE", "WRONG-EXIT", "ORPHAN-PROCESS")


CASE_LIMIT_S = 60  # every case is a refusal or a small read: a longer one means a bad input ran


class CaseTooLong(BaseException):
    """Raised by SIGALRM inside a case that runs too long."""


@dataclass
class Case:
    cls: str                                  # args | paths | home | data | procs
    name: str
    argv: list[str] | Callable[[Path], list[str]]
    code: int | tuple[int, ...] = 2           # expected exit code(s)
    says: str | None = None                   # a fragment the error must contain
    setup: Callable[[Path, Path], None] | None = None   # (sandbox, home) -> None
    env: Callable[[Path, Path], dict] | None = None     # extra environment
    may_write: Callable[[Path], list[Path]] | None = None  # paths the command may create/replace
    warnings_ok: bool = False                 # data cases: warning lines are expected
    check: Callable[[Path, Path, str, str], None] | None = None  # extra check (sandbox, home, out, err)
    subprocess: bool = False                  # run as a real `python -m copilot.cli` process

    @property
    def id(self) -> str:
        return f"{self.cls}-{self.name}"


def make_sandbox(root: Path) -> Path:
    """A user's tree the commands must leave alone: files, a project folder,
    a symlink and a fifo."""
    sb = root / "sandbox"
    (sb / "myproject" / "src").mkdir(parents=True)
    (sb / "myproject" / "src" / "main.py").write_text("print('mine')\n")
    (sb / "myproject" / "data").mkdir()
    (sb / "keep.txt").write_text("keep me\n")
    (sb / "existing.csv").write_text("not,an,lqmf,export\n")
    (sb / "work").mkdir()
    os.symlink(sb / "keep.txt", sb / "link.csv")
    os.mkfifo(sb / "pipe")
    return sb


def snapshot(root: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            content = p.read_bytes() if stat.S_ISREG(st.st_mode) and st.st_size < 1 << 16 else None
            out[str(p.relative_to(root))] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, content)
    return out


DEVICES = ("/dev/full", "/dev/null")


def devices() -> dict[str, int]:
    return {d: stat.S_IFMT(os.lstat(d).st_mode) for d in DEVICES}


def run(case: Case, argv: list[str], env: dict, capsys) -> tuple[int, str, str]:
    if case.subprocess:
        full = dict(os.environ, **env)
        r = subprocess.run([*LQMF, *argv], env=full, capture_output=True, text=True, cwd=ROOT,
                           timeout=CASE_LIMIT_S * 2, stdin=subprocess.DEVNULL)
        return r.returncode, r.stdout, r.stderr
    import signal

    from lqmf.copilot.cli import main

    def too_long(*_):
        raise CaseTooLong(f"{CODE}: {argv} ran for over {CASE_LIMIT_S} s: a bad input was accepted and ran")

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(CASE_LIMIT_S)
    try:
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        except CaseTooLong:
            raise
        except BaseException as e:  # noqa: BLE001 - an escaped exception is what we look for
            import traceback
            traceback.print_exc()
            code = 1
            if isinstance(e, KeyboardInterrupt):
                raise
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out, err = capsys.readouterr()
    return code, out, err


def check_case(case: Case, tmp_path: Path, capsys) -> None:
    sandbox = make_sandbox(tmp_path)
    home = tmp_path / "lqmf-home"
    home.mkdir()
    if case.setup:
        case.setup(sandbox, home)
    capsys.readouterr()
    env = {"LQMF_HOME": str(home), **(case.env(sandbox, home) if case.env else {})}
    argv = case.argv(sandbox) if callable(case.argv) else list(case.argv)
    before, devs = snapshot(sandbox), devices()
    code, out, err = run(case, argv, env, capsys)
    after = snapshot(sandbox)
    lines = [ln for ln in err.splitlines() if ln.strip()]

    assert "Traceback" not in err, f"{TRACEBACK}: {argv}\n{err[-3000:]}"
    expected = case.code if isinstance(case.code, tuple) else (case.code,)
    assert code in expected, f"{CODE}: {argv} exited {code}, expected {expected}\n{err[-2000:]}"
    if code != 0:
        errors = [ln for ln in lines if not ln.startswith("warning: ")]
        assert len(errors) == 1 and errors[0].startswith("error: ") and errors[0].rstrip().endswith("."), \
            f"{SENTENCE}: {argv}\n{err[-2000:]}"
        if case.says:
            assert case.says.lower() in errors[0].lower(), f"{SENTENCE}: {argv}: wanted {case.says!r} in {errors[0]!r}"
    if not case.warnings_ok or code == 0:
        stray = [ln for ln in lines if not ln.startswith(("warning: ", "error: "))] if code != 0 else []
        assert not stray, f"{SENTENCE}: {argv}: stray stderr lines {stray}"
    if not case.warnings_ok:
        assert not [ln for ln in lines if ln.startswith("warning: ")] or code == 0, f"{SENTENCE}: {err}"

    allowed = {str(p.relative_to(sandbox)) for p in (case.may_write(sandbox) if case.may_write else [])}
    changed = sorted(k for k in set(before) | set(after)
                     if before.get(k) != after.get(k) and k not in allowed)
    assert not changed, f"{TOUCHED}: {argv} changed {changed}"
    assert devices() == devs, f"{TOUCHED}: {argv} replaced a device node"
    assert not partial_files(sandbox, home), f"{PARTIAL}: {argv} left {partial_files(sandbox, home)}"
    if case.check:
        case.check(sandbox, home, out, err)


def queued_jobs(home: Path) -> int:
    db = home / "jobs.db"
    if not db.exists():
        return 0
    import sqlite3
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM jobs").fetchone()[0]
    finally:
        con.close()


def _no_jobs(sandbox: Path, home: Path, out: str, err: str) -> None:
    assert queued_jobs(home) == 0, f"{LOST}: a refused command queued {queued_jobs(home)} job(s)"


no_jobs = _no_jobs
PY = sys.executable
