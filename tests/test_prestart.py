"""The engine child started ahead of its request (its imports overlap the
parent's start-up), and the load sample that leaves our own processes out."""
from __future__ import annotations

import subprocess
import sys
import time

import psutil

from lqmf.tools.benchmark.quality import ENGINE
from lqmf.tools.hardware import BusySample
from lqmf.tools.models import resolve
from lqmf.tools.proc import Prestarted, run_child


def test_a_prestarted_engine_serves_the_request_once():
    with Prestarted(ENGINE) as pre:
        pid = pre.pid
        assert pid and psutil.pid_exists(pid)
        res = run_child(ENGINE, {"op": "selfcheck", "model": str(resolve("smollm2").path), "threads": 1},
                        what="the self-check", prestarted=pre)
        assert res["ok"] and pre.pid is None  # taken: a second request gets a fresh child
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_an_unused_prestarted_child_is_stopped_and_reaped():
    pre = Prestarted(ENGINE)
    pid = pre.pid
    pre.close()
    assert pre.pid is None and not psutil.pid_exists(pid)


def test_a_prestarted_child_is_not_used_for_another_module():
    with Prestarted(ENGINE) as pre:
        assert pre.take("lqmf.tools.some_other_child", ()) is None and pre.pid


def test_an_empty_request_exits_quietly():
    p = subprocess.run([sys.executable, "-m", ENGINE], input="", capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout == "" and "Traceback" not in p.stderr


def test_the_load_sample_leaves_out_the_processes_it_is_told_to():
    import os

    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        cpu = psutil.Process(burner.pid)
        c0, t0 = sum(cpu.cpu_times()[:2]), time.monotonic()
        seen, mine = BusySample(sample_s=0.5), BusySample(exclude=[burner.pid], sample_s=0.5)
        with_burner, without = seen.cores(), mine.cores()  # the same window, read one after the other
        share = (sum(cpu.cpu_times()[:2]) - c0) / (time.monotonic() - t0)  # cores the burner held
        assert share > 0.05, "the burner got no CPU at all: the machine is too busy to tell"
        # /proc/stat's ticks are per CPU summed; the difference is the burner's share, give or take a tick
        assert abs((with_burner - without) - share) < 0.25 * max(1, (os.cpu_count() or 1) / 2)
        assert with_burner - without > share / 2
    finally:
        burner.kill()
        burner.wait()
