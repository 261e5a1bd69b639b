"""What the runtime AMX switch would cost, measured on our own build.

    .venv/bin/python bench/amx_choice.py [--model smollm2] [--types Q4_0,Q4_K_M,Q8_0] [--threads 2] [--rounds 3]

The two fixes for ggml's AMX crash differ in one thing: the runtime switch
``use_extra_bufts=False`` also drops ggml's CPU repack (interleaved layouts for
Q4_0 / IQ4_NL / Q4_K), while the build flags ``-mno-amx-*`` keep it. So, on the
build we ship, this times pp512 / tg64 with extra buffer types on (what the
build flags give) and off (what the runtime switch gives), in turn, and prints
the ratio off/on. Each measurement runs in a fresh process.
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

CHILD = """
import json, sys
from pathlib import Path
import lqmf.knowledge.evaldata as evaldata
from lqmf.tools.llamacpp import load
import lqmf.tools.llamacpp.runtime as rt
load()
repack = sys.argv[3] == "1"
orig = rt.model_params
rt.model_params = lambda **kw: orig(use_extra_bufts=repack, **kw)
from lqmf.tools.benchmark.speed import measure
res, eng = measure(Path(sys.argv[1]), int(sys.argv[2]))
eng.close()
print(json.dumps({"pp": res.prompt_tok_s, "tg": res.gen_tok_s}))
"""


def run(art: Path, threads: int, repack: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(art), str(threads), "1" if repack else "0"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--types", default="Q4_0,Q4_K_M,Q8_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from lqmf.tools.hardware import busy_cores, cpu_info
    from lqmf.tools.quantize import quantize

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.flags)}; busy cores before: {busy_cores():.2f}")
    print(f"{'type':8} {'pp repack':>10} {'pp none':>9} {'ratio':>6} | {'tg repack':>10} {'tg none':>8} {'ratio':>6}")
    for t in [x.strip() for x in args.types.split(",") if x.strip()]:
        art = quantize(args.model, t).artifact
        on, off = [], []
        for _ in range(args.rounds):
            on.append(run(art, args.threads, True))
            off.append(run(art, args.threads, False))
        med = statistics.median
        print(f"{t:8} {med(r['pp'] for r in on):10.1f} {med(r['pp'] for r in off):9.1f} "
              f"{med(b['pp'] / a['pp'] for a, b in zip(on, off)):6.3f} | {med(r['tg'] for r in on):10.1f} "
              f"{med(r['tg'] for r in off):8.1f} {med(b['tg'] / a['tg'] for a, b in zip(on, off)):6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
