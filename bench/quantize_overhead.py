"""Overhead of `lqmf quantize` over a bare llama_model_quantize call.

Both quantize the same cached F16 GGUF of the bundled model to Q4_K_M,
alternating, 5 times each (after one warm-up each); prints the medians and
their ratio. Target: ratio <= 1.10.

    .venv/bin/python bench/quantize_overhead.py [--model smollm2] [--type Q4_K_M] [--runs 5]

Both sides write a new file (the previous run's output is removed outside the
timing). The lqmf side is the whole engine call `tools.quantize.quantize()`:
model resolution and inspection, type parsing, lock, free-disk check, temp
file, llama_model_quantize, artifact hashing, sidecar, rename and the run
record. The bare side is llama_cpp.llama_model_quantize into a temp file.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--type", default="Q4_K_M")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    from lqmf.tools.config import threads
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize import quantize
    from lqmf.tools.quantize.convert import f16_gguf
    from lqmf.tools.quantize.backends.gguf import llama_quantize
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import parse_quant_type

    qtype = parse_quant_type(args.type)
    f16 = f16_gguf(resolve(args.model))  # converted once, cached
    out_dir = Path(tempfile.mkdtemp(prefix="lqmf-overhead-"))

    def bare() -> float:
        dst = out_dir / "bare.gguf"
        t0 = time.perf_counter()
        llama_quantize(f16, dst, current().spec(qtype).code or qtype, threads())
        dt = time.perf_counter() - t0
        dst.unlink()
        return dt

    def ours() -> float:
        import shutil

        shutil.rmtree(out_dir / "lqmf", ignore_errors=True)  # untimed, like the bare side's unlink
        t0 = time.perf_counter()
        quantize(args.model, args.type, out_dir=out_dir / "lqmf")
        return time.perf_counter() - t0

    bare(), ours()  # warm-up: page cache, imports
    b, o = [], []
    for _ in range(args.runs):
        b.append(bare())
        o.append(ours())
    mb, mo = statistics.median(b), statistics.median(o)
    print(f"F16 source: {f16} ({f16.stat().st_size / 1e6:.0f} MB), type {qtype.value}, threads {threads()}, "
          f"cpu count {os.cpu_count()}")
    print(f"bare llama_model_quantize : median {mb:.3f} s  runs {[round(x, 3) for x in b]}")
    print(f"lqmf quantize()           : median {mo:.3f} s  runs {[round(x, 3) for x in o]}")
    ratio = mo / mb
    print(f"ratio lqmf/bare           : {ratio:.3f}  (target <= 1.10: {'PASS' if ratio <= 1.10 else 'FAIL'})")
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
