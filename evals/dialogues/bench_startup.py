"""How long `lqmf chat` takes to show its prompt on a terminal (a pty), and
how long until the first answer arrives (the graph loads in the background).

    python evals/dialogues/bench_startup.py [--runs 5]"""
from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def read_until(fd: int, needle: bytes, timeout: float) -> tuple[float | None, bytes]:
    buf, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            buf += chunk
            if needle in buf:
                return time.monotonic(), buf
    return None, buf


def one_run(home: str, answer_timeout: float = 30) -> tuple[float, float]:
    env = {**os.environ, "LQMF_HOME": home, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)}
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # child: the real command on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "lqmf.copilot.cli", "chat"], env)
    try:
        t_prompt, _ = read_until(fd, b"\x1b[0m>", 20)  # prompt_toolkit draws the prompt
        os.write(fd, b"what can you do\r")
        t_answer, out = read_until(fd, b"I can quantize", answer_timeout)
        os.write(fd, b"/quit\r")
        read_until(fd, b"\n", 2)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    if t_prompt is None or t_answer is None:
        raise SystemExit(f"no prompt/answer; output was: {out[-500:]!r}")
    return t_prompt - t0, t_answer - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-prompt-s", type=float, default=0.0, help="exit 1 if the median is above this")
    ap.add_argument("--answer-timeout", type=float, default=30.0, help="seconds to wait for the first answer")
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="lqmf-startup-")
    one_run(home, args.answer_timeout)  # warm the OS file cache and .pyc files
    prompts, answers = [], []
    for _ in range(args.runs):
        p, a = one_run(home, args.answer_timeout)
        prompts.append(p)
        answers.append(a)
    print(f"lqmf chat prompt shown: median {statistics.median(prompts):.3f} s  max {max(prompts):.3f} s "
          f"({args.runs} runs)")
    print(f"first answer ('what can you do') after start: median {statistics.median(answers):.3f} s")
    return 1 if args.max_prompt_s and statistics.median(prompts) > args.max_prompt_s else 0


if __name__ == "__main__":
    sys.exit(main())
