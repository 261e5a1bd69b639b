"""Quality prediction vs measurement: Spearman rank correlation between the
predicted and the measured mean KLD over the measured types, and the median
relative error of held-out predictions (each type's KLD predicted with the
scale fitted on the other types only), for each runtime path (llama.cpp: GGUF;
transformers: bitsandbytes, GPTQ, RTN) on its own.

    LQMF_HOME=... python bench/predict_eval.py [--model smollm2] [--chunks 4]

Reads the measured trials from the trial journal (run bench/tune_vs_exhaustive.py
first, or `lqmf tune ... --exhaustive`); the prediction itself never reads a
benchmark of the type it predicts."""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time


def ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))


def held_out(measured: dict[str, float], err: dict[str, float]) -> dict[str, float]:
    """Each candidate's KLD predicted from its simulated error, with the scale fitted on the others only."""
    out = {}
    for c in measured:
        logs = [math.log(measured[o] / err[o]) for o in measured if o != c and err[o] > 0]
        out[c] = err[c] * math.exp(statistics.median(logs))
    return out


def report(title: str, measured: dict[str, float], err: dict[str, float]) -> bool:
    """Print one path's table; True when it meets the issue's bar (rho >= 0.9 over >= 10 types)."""
    names = sorted(measured, key=lambda c: measured[c])
    held = held_out(measured, err)
    rel = [abs(held[c] - measured[c]) / measured[c] for c in names]
    rho = spearman([held[c] for c in names], [measured[c] for c in names])
    print(f"\n### {title}\n")
    print("| candidate | measured KLD | predicted (held out) | rel. error |")
    print("|---|---|---|---|")
    for c, r in zip(names, rel):
        print(f"| {c} | {measured[c]:.4f} | {held[c]:.4f} | {r:.0%} |")
    print(f"\nSpearman rank correlation {rho:.3f} over {len(names)} types "
          f"({'>= 0.9' if rho >= 0.9 else 'BELOW 0.9'}); median relative error {statistics.median(rel):.0%}")
    return rho >= 0.9 and len(names) >= 10


def main(argv: list[str]) -> int:
    from lqmf.tools.tune.candidates import parse_candidate
    from lqmf.tools.tune.trials import done_trials
    from lqmf.tools.tune.weights import f16_of, predict_error

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--chunks", type=int, default=4)
    a = ap.parse_args(argv)
    f16 = f16_of(a.model)
    if f16 is None:
        print(f"no F16 of {a.model} cached: quantize it once first", file=sys.stderr)
        return 2
    measured = {}
    for key, rec in done_trials().items():
        model, cand, chunks, *_ = key.split("|")
        if model == a.model and chunks == f"c{a.chunks}" and rec.get("kld_mean"):
            measured[cand] = rec["kld_mean"]
    t0 = time.monotonic()
    err = {c: predict_error(f16, parse_candidate(c).quant_type, parse_candidate(c).recipe()).error for c in measured}
    sim_s = time.monotonic() - t0
    print(f"{a.model}: {len(measured)} types, KLD measured on {a.chunks} x 512 tokens; simulation {sim_s:.1f} s")
    # each runtime path on its own: their KLDs come from different engines, and one scale does not span both
    paths: dict[str, dict[str, float]] = {}
    for c, kld in measured.items():
        paths.setdefault(parse_candidate(c).path, {})[c] = kld
    met = [report(f"{path} path", m, err) for path, m in sorted(paths.items()) if len(m) >= 3]
    return 0 if met and all(met) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
