"""Memory-fit estimate (tools/recommend/memfit.py) against measured peak RSS.

For every succeeded benchmark in the store (LQMF_HOME's, or --home) with a
GGUF artifact still on disk: the record's own peak RSS (the benchmark's speed
stage: a 576-token context, one 512-token batch, generation), and the same
engine started again at each --ctx (evals/recommend/rss_probe.py, a fresh
process each). Prints each row, the median and the worst relative error, and
exits 1 when the median is above --max-median (default 10 %).

    python evals/recommend/memory_fit.py --ctx 2048,8192
    python evals/recommend/memory_fit.py --fill      # benchmark the bundled models first (a few minutes)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEED_CTX = 576  # tools/benchmark/speed.py: N_PROMPT + N_GEN


def fill(chunks: int) -> None:
    """Real benchmarks of the bundled models into the store (quantizing what is missing)."""
    for model, types in (("smollm2", "Q8_0,Q4_K_M,Q6_K"), ("gemma3-270m", "Q8_0,Q4_K_M")):
        subprocess.run([sys.executable, "-m", "lqmf.copilot.cli", "bench", model, "-t", types, "--chunks",
                        str(chunks), "--json"], check=True, capture_output=True)


def probe(artifact: str, ctx: int) -> float:
    out = subprocess.run([sys.executable, str(HERE / "rss_probe.py"), json.dumps({"model": artifact, "ctx": ctx})],
                         capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def rows(ctxs: list[int]) -> list[dict]:
    from lqmf.tools.catalog import find
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.recommend.memfit import MIB, estimate
    from lqmf.tools.store.experiments import default_store

    seen, out = set(), []
    recs = [r for r in default_store().all() if r.kind == "benchmark" and r.status == "succeeded"
            and r.peak_rss_mb and r.artifact and r.artifact.endswith(".gguf") and Path(r.artifact).is_file()]
    for r in sorted(recs, key=lambda r: r.created_at):
        facts = find(r.model_name or r.model)
        if facts is None or not current().has(r.quant_type or ""):
            continue
        spec = current().spec(r.quant_type)
        size = Path(r.artifact).stat().st_size
        measured = [(SPEED_CTX, r.peak_rss_mb, "store record")]
        if r.artifact not in seen:
            seen.add(r.artifact)
            measured += [(c, probe(r.artifact, c), "probe") for c in ctxs]
        for ctx, mb, how in measured:
            est = estimate(facts, spec, ctx, weights=size).total / MIB
            out.append({"model": facts.name, "quant_type": r.quant_type, "ctx": ctx, "measured_mb": round(mb, 1),
                        "estimate_mb": round(est, 1), "error_pct": round((est / mb - 1) * 100, 2), "from": how})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="2048,8192", help="context lengths to probe besides the record's own")
    ap.add_argument("--fill", action="store_true", help="benchmark the bundled models into the store first")
    ap.add_argument("--chunks", type=int, default=2)
    ap.add_argument("--max-median", type=float, default=10.0)
    ap.add_argument("--home", help="LQMF_HOME to read (default: the environment's)")
    args = ap.parse_args()
    if args.home:
        os.environ["LQMF_HOME"] = args.home
    if args.fill:
        fill(args.chunks)
    table = rows([int(c) for c in args.ctx.split(",") if c.strip()])
    if not table:
        print("no benchmark records with a GGUF artifact on disk; run with --fill")
        return 1
    for t in table:
        print(f"{t['model']:14} {t['quant_type']:7} ctx {t['ctx']:6}  measured {t['measured_mb']:8.1f} MB  "
              f"estimate {t['estimate_mb']:8.1f} MB  {t['error_pct']:+6.2f} %  ({t['from']})")
    errs = [abs(t["error_pct"]) for t in table]
    worst = max(table, key=lambda t: abs(t["error_pct"]))
    med = statistics.median(errs)
    print(f"memory fit: {len(table)} measurements, median |error| {med:.2f} %, worst {worst['error_pct']:+.2f} % "
          f"({worst['model']} {worst['quant_type']} ctx {worst['ctx']})")
    return 0 if med <= args.max_median else 1


if __name__ == "__main__":
    sys.exit(main())
