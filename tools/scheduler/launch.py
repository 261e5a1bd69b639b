"""Starting a job's process. Two ways, same contract (a handle with ``pid``,
``poll()``, ``wait()``; the process runs ``run_job.run(id, attempt)`` in its
own session, dies with its worker, and logs to a file):

- ``fork`` (default on Linux): the light worker forks; ~100x cheaper than a
  new interpreter, which is what bounds the queue's overhead on tiny jobs.
- ``exec``: ``python -m tools.scheduler.run_job ID ATTEMPT``; set
  ``LQMF_JOB_LAUNCH=exec`` to use it.

The worker never imports an engine (torch, llama.cpp), so a forked job starts
as light as a fresh one.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from enum import StrEnum
from pathlib import Path


class Launch(StrEnum):
    FORK = "fork"
    EXEC = "exec"


def default_launch() -> Launch:
    from lqmf.tools.settings import get

    env = str(get("scheduler.launch"))
    if env in (m.value for m in Launch):
        return Launch(env)
    return Launch.FORK if hasattr(os, "fork") and sys.platform.startswith("linux") else Launch.EXEC


class Forked:
    """A forked child, with the bits of Popen the worker uses."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -9
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.returncode = -9
        return self.returncode


def _code_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def start(job_id: str, attempt: int, env: dict[str, str], log_path: Path, how: Launch | None = None):
    how = how or default_launch()
    if how is Launch.EXEC:
        with open(log_path, "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "lqmf.tools.scheduler.run_job", job_id, str(attempt)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=_code_root(), start_new_session=True)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Forked(pid)
    # ---- child: never returns ----
    code = 70
    try:
        os.setsid()
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_DFL)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ.clear()
        os.environ.update(env)
        from lqmf.tools.scheduler import run_job
        run_job.die_with_parent()
        code = run_job.run(job_id, attempt)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
