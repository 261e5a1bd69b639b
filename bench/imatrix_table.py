"""Importance matrices on the bundled model: imatrix Q4_K_M vs plain Q4_K_M, and
imatrix IQ3 types vs Q3_K_M, mean KLD on the evaluation text (jargon-prose),
which is not the calibration text. Prints the table.

    python bench/imatrix_table.py [--use code] [--chunks 8] [--model smollm2]

The plain artifacts come from llama-cpp-python's llama_model_quantize and the
calibrated ones from llama-quantize, both the same vendored llama.cpp 0.3.36
code, so the only difference in a pair is the importance matrix."""
from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str]) -> int:
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.quantize import quantize

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--use", default="code")
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--types", default="Q4_K_M,Q3_K_M,IQ3_M,IQ3_S,IQ3_XXS")
    a = ap.parse_args(argv)
    rows = []
    for qt in a.types.split(","):
        for im in ([None, a.use] if not qt.startswith("IQ") else [a.use]):
            t0 = time.monotonic()
            q = quantize(a.model, qt, recipe={"imatrix": im} if im else None)
            b = benchmark(str(q.artifact), chunks=a.chunks, speed=False).record
            rows.append((qt, im or "-", b.size_bytes, b.kld_mean, b.kld_p99, b.ppl_delta_pct, time.monotonic() - t0))
            print(f"  {qt} imatrix={im or '-'}: KLD {b.kld_mean:.4f} ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
    print(f"\n{a.model}, mean KLD on jargon-prose ({a.chunks} x 512 tokens); imatrix text: {a.use}\n")
    print("| type | imatrix | size MB | mean KLD | p99 KLD | Δppl % |")
    print("|---|---|---|---|---|---|")
    for qt, im, size, kld, p99, dppl, _ in rows:
        print(f"| {qt} | {im} | {size / 1e6:.1f} | {kld:.4f} | {p99:.4f} | {dppl:+.2f} |")
    by = {(r[0], r[1]): r for r in rows}
    plain, cal = by.get(("Q4_K_M", "-")), by.get(("Q4_K_M", a.use))
    if plain and cal:
        print(f"\nimatrix Q4_K_M vs plain: mean KLD {cal[3]:.4f} vs {plain[3]:.4f} "
              f"({'lower' if cal[3] < plain[3] else 'NOT lower'})")
    q3 = by.get(("Q3_K_M", "-")) or by.get(("Q3_K_M", a.use))
    for qt in ("IQ3_M", "IQ3_S", "IQ3_XXS"):
        r = by.get((qt, a.use))
        if r and q3:
            print(f"imatrix {qt} vs Q3_K_M: {r[2] / 1e6:.1f} vs {q3[2] / 1e6:.1f} MB, KLD {r[3]:.4f} vs {q3[3]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
