"""kill -9 at random points of quantize, benchmark and the worker; then check
that no process it started lives on, no record is lost, nothing partial stays
after the next run, and the next run succeeds. The seed of each random point
is in the test id, so a failure can be replayed."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import LQMF, ROOT, partial_files, run_lqmf, stop_workers
from tests.fuzz.harness import LOST, ORPHAN, PARTIAL

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _gone(procs: list[psutil.Process], timeout: float = 10.0) -> list[int]:
    end = time.monotonic() + timeout
    alive = procs
    while alive and time.monotonic() < end:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    return [p.pid for p in alive]


def _journal_lines(home: Path) -> list[str]:
    path = home / "records.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def _kill_at(cmd: list[str], env: dict, at: float, after_child: str | None = None) -> list[int]:
    """Start ``lqmf CMD``, SIGKILL it ``at`` seconds in (counted from when a
    child whose command line holds ``after_child`` appeared, when given);
    returns the pids of the processes it had started that are still alive."""
    proc = subprocess.Popen([*LQMF, *cmd], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    kids: dict[int, psutil.Process] = {}

    def poll() -> None:
        for k in _descendants(proc.pid):
            kids[k.pid] = k

    if after_child:
        end = time.monotonic() + 120
        while time.monotonic() < end and proc.poll() is None and not any(
                after_child in " ".join(_cmdline(k)) for k in kids.values()):
            poll()
            time.sleep(0.05)
        assert any(after_child in " ".join(_cmdline(k)) for k in kids.values()), \
            f"{after_child} never started; the test would prove nothing"
    end = time.monotonic() + at
    while time.monotonic() < end and proc.poll() is None:
        poll()
        time.sleep(0.05)
    poll()
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return _gone(list(kids.values()))


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _home_with(warm_home: Path, tmp_path: Path, f16: bool) -> Path:
    """A data dir sharing the warm home's dense cache (hard links), with or
    without its F16 (without: the next quantize runs llama.cpp's converter)."""
    home = tmp_path / "home"
    for sub in ["dense"] + (["f16"] if f16 else []):
        src = warm_home / "cache" / sub
        if src.exists():
            shutil.copytree(src, home / "cache" / sub, copy_function=os.link)
    home.mkdir(exist_ok=True)
    return home


SEEDS = [11, 23, 37]


def _user_hf_folder(warm_home: Path, tmp_path: Path) -> str:
    """A user's own HF folder (the bundled model's dense copy, without our origin
    marker): quantizing it runs llama.cpp's converter. A GGUF source does not:
    its F16 is written in-process by gguf-py."""
    import subprocess
    import sys

    code = ("from lqmf.tools.models import resolve; from lqmf.tools.quantize.convert import dense_dir; "
            "print(dense_dir(resolve('smollm2')))")
    made = Path(subprocess.run([sys.executable, "-c", code], env=dict(os.environ, LQMF_HOME=str(warm_home)),
                               capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip().splitlines()[-1])
    folder = tmp_path / "my-model"
    folder.mkdir()
    for f in made.iterdir():
        if f.name != "lqmf-dense-origin.json":
            os.symlink(f, folder / f.name)
    return str(folder)


@pytest.mark.parametrize("seed", SEEDS)
def test_kill9_quantize(warm_home, tmp_path, seed):
    during_converter = seed == SEEDS[0]
    at = random.Random(seed).uniform(0.0, 3.0) if during_converter else random.Random(seed).uniform(0.5, 6.0)
    home = _home_with(warm_home, tmp_path, f16=not during_converter)
    env = dict(os.environ, LQMF_HOME=str(home))
    out = tmp_path / "out"
    before = _journal_lines(home)
    model = _user_hf_folder(warm_home, tmp_path) if during_converter else "smollm2"
    alive = _kill_at(["quantize", model, "--type", "Q4_K_M", "--out", str(out)], env, at,
                     after_child="convert_hf_to_gguf" if during_converter else None)
    assert alive == [], f"{ORPHAN}: processes outlived a killed quantize (at {at:.2f}s): {alive}"
    assert _journal_lines(home)[: len(before)] == before, f"{LOST}: the journal lost lines"
    r = run_lqmf("quantize", model, "--type", "Q4_K_M", "--out", str(out), env={"LQMF_HOME": str(home)})
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert not partial_files(out, home), f"{PARTIAL}: {partial_files(out, home)}"
    name = "my-model" if during_converter else "smollm2"
    assert (out / f"{name}.Q4_K_M.gguf").is_file()


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_kill9_benchmark(warm_home, tmp_path, seed):
    at = random.Random(seed).uniform(0.5, 8.0)
    home = _home_with(warm_home, tmp_path, f16=True)
    env = dict(os.environ, LQMF_HOME=str(home))
    alive = _kill_at(["bench", "smollm2", "--type", "Q8_0", "--chunks", "2", "--ctx", "128", "--no-speed"],
                        env, at)
    assert alive == [], f"{ORPHAN}: processes outlived a killed bench (at {at:.2f}s): {alive}"
    r = run_lqmf("bench", "smollm2", "--type", "Q8_0", "--chunks", "2", "--ctx", "128", "--no-speed", "--json",
                 env={"LQMF_HOME": str(home)})
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert not partial_files(home), f"{PARTIAL}: {partial_files(home)}"
    recs = [json.loads(ln) for ln in _journal_lines(home)]
    assert any(x["kind"] == "benchmark" and x["status"] == "succeeded" for x in recs), f"{LOST}: {recs}"


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_kill9_worker_requeues_without_user_action(tmp_path, seed):
    """The worker dies mid-job: its job process dies with it, `lqmf jobs`
    requeues the job and starts a worker, and the job then succeeds once."""
    home = tmp_path / "home"
    env = dict(os.environ, LQMF_HOME=str(home), LQMF_RETRY_BACKOFF_S="0.2")
    marker, out = tmp_path / "done.txt", tmp_path / "out"
    code = ("import sys; from lqmf.tools import scheduler; "
            f"print(scheduler.submit('sleep', {{'seconds': 2.0, 'marker': {str(marker)!r}, 'out_dir': {str(out)!r}}}))")
    jid = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    worker = subprocess.Popen([*LQMF, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        def state() -> dict:
            r = run_lqmf("jobs", "show", jid, "--json", env={"LQMF_HOME": str(home)})
            return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip().startswith("{") else {}
        end = time.monotonic() + 60
        while state().get("state") != "running" and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(random.Random(seed).uniform(0.0, 1.5))
        kids = _descendants(worker.pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert _gone(kids) == [], f"{ORPHAN}: the job process outlived its worker"
        end = time.monotonic() + 90
        s = state()
        while s.get("state") != "succeeded" and time.monotonic() < end:
            time.sleep(0.3)
            s = state()
        assert s.get("state") == "succeeded", f"{LOST}: the job ended {s.get('state')} ({s.get('error')})"
        assert marker.read_text().count("\n") == 1  # ran to completion once
        assert not partial_files(out), f"{PARTIAL}: {partial_files(out)}"
    finally:
        if worker.poll() is None:
            worker.kill()
        stop_workers(home)
