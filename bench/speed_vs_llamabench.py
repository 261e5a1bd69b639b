"""Our reported speed against llama.cpp's own ``llama-bench``, same build flags,
same files, same threads, run in turn (ours, theirs, ours, theirs ...).

    .venv/bin/python bench/speed_vs_llamabench.py [--model smollm2] [--types Q4_0,Q4_K_M,Q8_0]
                                                  [--threads 2] [--rounds 3]

Prints, per type, pp512 and tg64 tokens/s of both (medians over rounds) and
the ratio ours/llama-bench (target: at least 0.95). llama-bench is built from
the llama-cpp-python sdist with the same flags (tools/llamacpp/build.py tools).
Say which CPU flags the machine had when you quote these figures (printed).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def llama_bench(binary: Path, model: Path, threads: int, reps: int) -> tuple[float, float]:
    proc = subprocess.run([str(binary), "-m", str(model), "-t", str(threads), "-p", "512", "-n", "64",
                           "-r", str(reps), "-o", "json"], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"llama-bench failed on {model}:\n{proc.stderr[-2000:]}")
    rows = json.loads(proc.stdout)
    pp = next(r["avg_ts"] for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)
    tg = next(r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0)
    return pp, tg


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--types", default="Q4_0,Q4_K_M,Q8_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    from lqmf.tools.benchmark.speed import measure_in_subprocess
    from lqmf.tools.hardware import busy_cores, cpu_info
    from lqmf.tools.llamacpp.build import CMAKE_FLAGS, tools
    from lqmf.tools.quantize import quantize

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.flags)}; build: {' '.join(CMAKE_FLAGS)}")
    print(f"threads {args.threads}, {args.rounds} rounds, busy cores before: {busy_cores():.2f}")
    binary = tools() / "llama-bench"
    worst = 1e9
    print(f"{'type':8} {'pp lqmf':>9} {'pp llama':>9} {'ratio':>6} | {'tg lqmf':>8} {'tg llama':>9} {'ratio':>6}")
    for t in [x.strip() for x in args.types.split(",") if x.strip()]:
        art = quantize(args.model, t).artifact
        ours, theirs = [], []
        for _ in range(args.rounds):
            sp = measure_in_subprocess(art, args.threads)
            ours.append((sp.prompt_tok_s, sp.gen_tok_s))
            theirs.append(llama_bench(binary, art, args.threads, args.reps))
        pp_r = statistics.median(o[0] / b[0] for o, b in zip(ours, theirs))
        tg_r = statistics.median(o[1] / b[1] for o, b in zip(ours, theirs))
        worst = min(worst, pp_r, tg_r)
        med = statistics.median
        print(f"{t:8} {med(o[0] for o in ours):9.1f} {med(b[0] for b in theirs):9.1f} {pp_r:6.3f} | "
              f"{med(o[1] for o in ours):8.1f} {med(b[1] for b in theirs):9.1f} {tg_r:6.3f}")
    print(f"worst ratio (median of pairs): {worst:.3f} (target >= 0.95)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
