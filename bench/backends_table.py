"""One table of GGUF, bitsandbytes, GPTQ and AWQ types of one model, every metric,
all scored against the same F16 baseline on the same tokens (the transformers
path through tools/benchmark/hf_engine.py, the llama.cpp path as usual), plus
the unquantized model through transformers against the F16 through llama.cpp
(the two paths must agree: perplexity within 1 %).

    .venv/bin/python bench/backends_table.py [--model smollm2] [--chunks 40] [--no-speed]
        [--types Q4_K_M,Q8_0,NF4,INT8,GPTQ_4BIT,RTN_4BIT,GPTQ_8BIT,AWQ_4BIT]

Uses the data dir in effect (LQMF_HOME); artifacts already built are reused.
A type whose backend is not installed is left out with its one sentence.
Exit 1 when INT8's mean KLD is not below NF4's, GPTQ 4-bit's or AWQ 4-bit's not
below round-to-nearest 4-bit's (the same group size), the GPTQ bit widths in the table do not order by
KLD (8 < 4 < 3 < 2), or the two paths disagree.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def reused(artifact: str, chunks: int, speed: bool):
    """The latest succeeded benchmark of ``artifact`` in the journal measured as asked, or None."""
    from lqmf.tools.benchmark.quality import DEFAULT_CTX
    from lqmf.tools.benchmark.scorer import scored
    from lqmf.tools.store.journal import journal

    want = chunks * scored(DEFAULT_CTX)[1]
    found = [r for r in journal().all() if str(r.kind) == "benchmark" and str(r.status) == "succeeded"
             and r.artifact == artifact and r.eval_tokens == want and r.ctx == DEFAULT_CTX
             and (r.gen_tok_s is not None) == speed]
    return found[-1] if found else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--types", default="Q4_K_M,Q8_0,NF4,INT8,GPTQ_4BIT,RTN_4BIT,GPTQ_8BIT,AWQ_4BIT")
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="take an artifact's latest succeeded benchmark from the journal when it was measured "
                         "the same way (same chunks, ctx 512, speed as asked) instead of measuring it again")
    args = ap.parse_args()

    from lqmf.tools.benchmark import _baseline, benchmark
    from lqmf.tools.benchmark.quality import DEFAULT_CTX, measure
    from lqmf.tools.config import threads
    from lqmf.tools.quantize import quantize, read_sidecar

    from lqmf.tools.errors import MissingComponent

    rows = []
    for t in args.types.split(","):
        t0 = time.perf_counter()
        try:
            res = quantize(args.model, t)
        except MissingComponent as e:
            print(f"{t}: left out: {e}", file=sys.stderr)
            continue
        q_s = (read_sidecar(res.artifact) or {}).get("quantize_s") or time.perf_counter() - t0
        rec = (reused(str(res.artifact), args.chunks, not args.no_speed) if args.reuse else None) or \
            benchmark(str(res.artifact), chunks=args.chunks, speed=not args.no_speed).record
        rows.append((rec.quant_type, rec.method, rec, q_s))

    head = (f"{'type':9} {'method':6} {'size MB':>8} {'ppl':>8} {'dPPL %':>7} {'KLD':>8} {'KLD p99':>8} "
            f"{'top1 %':>7} {'pp t/s':>7} {'tg t/s':>7} {'load s':>6} {'RSS MB':>7} {'quant s':>7}")
    print(head)
    print("-" * len(head))

    def f(v, spec):
        return format(v, spec) if v is not None else "-".rjust(int(spec.split(".")[0]) if spec[0].isdigit() else 1)

    for qt, method, r, q_s in rows:
        print(f"{qt:9} {method:6} {r.size_bytes / 1e6:8.1f} {f(r.ppl, '8.3f')} {f(r.ppl_delta_pct, '7.2f')} "
              f"{f(r.kld_mean, '8.4f')} {f(r.kld_p99, '8.4f')} {f(r.top1_pct, '7.2f')} {f(r.prompt_tok_s, '7.1f')} "
              f"{f(r.gen_tok_s, '7.1f')} {f(r.load_s, '6.2f')} {f(r.peak_rss_mb, '7.0f')} {q_s:7.1f}")

    ok = True
    by = {qt: r for qt, _, r, _ in rows}
    if "NF4" in by and "INT8" in by:
        better = by["INT8"].kld_mean < by["NF4"].kld_mean
        print(f"\nINT8 mean KLD {by['INT8'].kld_mean:.4f} {'<' if better else '>='} NF4 {by['NF4'].kld_mean:.4f}")
        ok &= better
    for calibrated, name in (("GPTQ_4BIT", "GPTQ"), ("AWQ_4BIT", "AWQ")):
        if calibrated in by and "RTN_4BIT" in by:
            better = by[calibrated].kld_mean < by["RTN_4BIT"].kld_mean
            print(f"{name} 4-bit mean KLD {by[calibrated].kld_mean:.4f} {'<' if better else '>='} "
                  f"round-to-nearest 4-bit {by['RTN_4BIT'].kld_mean:.4f} (same group size)")
            ok &= better
    widths = [qt for qt in ("GPTQ_8BIT", "GPTQ_4BIT", "GPTQ_3BIT", "GPTQ_2BIT") if qt in by]
    if len(widths) > 1:
        klds = [by[qt].kld_mean for qt in widths]
        ordered = all(a < b for a, b in zip(klds, klds[1:]))
        print("GPTQ mean KLD by bits: " + " < ".join(f"{qt} {k:.4f}" for qt, k in zip(widths, klds))
              + ("" if ordered else "  (NOT in order)"))
        ok &= ordered
    bnb = next((qt for qt, m, _, _ in rows if m in ("bnb", "gptq", "awq")), None)
    if bnb:
        facts = read_sidecar(Path(by[bnb].artifact or ""))
        if facts and facts.get("dense_path"):
            base = _baseline(facts, None, DEFAULT_CTX, args.chunks, threads(), lambda *a: None)
            q, _ = measure(Path(facts["dense_path"]), base=base, ctx=DEFAULT_CTX, chunks=args.chunks,
                           threads=threads(), engine="transformers")
            delta = (q.ppl / base.ppl - 1) * 100
            print(f"unquantized through transformers: ppl {q.ppl:.3f}, F16 through llama.cpp {base.ppl:.3f} "
                  f"({delta:+.3f} %), KLD {q.kld_mean:.2e}, top-1 {q.top1_pct:.2f} %")
            ok &= abs(delta) < 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
