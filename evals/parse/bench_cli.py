"""Timing of the `lqmf parse` command as a user runs it (a fresh process each time).

    python evals/parse/bench_cli.py            # 1,000 lines through `lqmf parse -`, and start-up

Prints: wall time of `lqmf parse -` over N lines (start-up included) and lines/s;
the start-up of `lqmf parse TEXT` (median of R runs) next to a bare `python -c pass`
for scale. Lines are the dev set repeated, so every rule is exercised.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV = Path(__file__).resolve().parent / "dev.jsonl"


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("lqmf")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "lqmf.copilot.cli"]


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed(cmd: list[str], stdin: bytes | None, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    res = subprocess.run(cmd, input=stdin, capture_output=True, env=env, cwd=ROOT, timeout=300)
    return time.perf_counter() - start, res


def _timed_cpu(cmd: list[str], stdin: bytes | None, env: dict) -> tuple[float, float]:
    """(wall, CPU user+sys) of one run: CPU time shows the cost when other work shares the cores."""
    cpu0 = _cpu()
    wall, _ = _timed(cmd, stdin, env)
    return wall, _cpu() - cpu0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = [texts[i % len(texts)] for i in range(args.lines)]
    home = tempfile.mkdtemp(prefix="lqmf-bench-")
    env = dict(os.environ, LQMF_HOME=home, LQMF_PARSER="builtin")
    cmd = _command()
    try:
        _timed([*cmd, "parse", "warm up the disk cache"], None, env)
        cpu0 = _cpu()
        wall, res = _timed([*cmd, "parse", "-"], ("\n".join(lines) + "\n").encode(), env)
        cpu = _cpu() - cpu0
        out = res.stdout.decode().splitlines()
        if res.returncode != 0 or len(out) != len(lines):
            print(f"error: lqmf parse - returned {res.returncode} with {len(out)} lines\n{res.stderr.decode()}")
            return 1
        print(f"lqmf parse - : {len(lines)} lines in {wall:.2f} s wall (start-up included), "
              f"{len(lines) / wall:.0f} lines/s; CPU {cpu:.2f} s")
        runs = [_timed_cpu([*cmd, "parse", "quantize smollm2 to 4-bit gguf"], None, env)
                for _ in range(args.repeats)]
        bare = [_timed_cpu([sys.executable, "-c", "pass"], None, env) for _ in range(args.repeats)]
        wall_s, cpu_s = [r[0] for r in runs], [r[1] for r in runs]
        print(f"lqmf parse TEXT start-up: median {statistics.median(wall_s):.3f} s wall, "
              f"max {max(wall_s):.3f} s, CPU median {statistics.median(cpu_s):.3f} s over {args.repeats} runs "
              f"(bare python: {statistics.median(r[0] for r in bare):.3f} s wall, "
              f"{statistics.median(r[1] for r in bare):.3f} s CPU)")
        print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
