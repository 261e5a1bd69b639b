"""How far the baseline's top-K partition KLD is from the full-vocabulary KLD.

    .venv/bin/python bench/kld_topk_error.py [--models smollm2,gemma3-270m] [--types Q8_0,Q4_K_M,Q2_K]
                                             [--chunks 4] [--threads 2]

Runs the F16 and the quantized model window by window in one process, computes
the exact KL(P_F16 || P_q) over the whole vocabulary for every scored token, and
the partition estimate that the cached baseline allows for K in --ks. Prints
mean KLD (exact and estimated), the relative error of the mean, the largest
per-token error, and the baseline bytes per scored token at each K.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="smollm2,gemma3-270m")
    ap.add_argument("--types", default="Q8_0,Q4_K_M,Q2_K")
    ap.add_argument("--ks", default="32,64,128")
    ap.add_argument("--ms", default="0,32,64", help="tail samples per token (0: partition form only)")
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import numpy as np

    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.benchmark.scorer import batches, scored
    from lqmf.tools.llamacpp import load
    from lqmf.tools.llamacpp.runtime import Engine
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize import quantize
    from lqmf.tools.quantize.convert import f16_gguf

    load()
    from lqmf.tools.benchmark.kld import baseline_rows, kld_rows

    ks = [int(k) for k in args.ks.split(",")]
    ms = [int(m) for m in args.ms.split(",")]
    combos = [(k, m) for k in ks for m in ms]
    ctx = 512
    print(f"{'model':12} {'type':7} {'exact':>8} {'p99':>7} " + " ".join(f"{f'K{k}/M{m}':>22}" for k, m in combos))
    for model in args.models.split(","):
        f16 = f16_gguf(resolve(model))
        for t in args.types.split(","):
            art = quantize(model, t).artifact
            base = Engine(f16, n_ctx=ctx, n_batch=ctx, threads=args.threads)
            quant = Engine(art, n_ctx=ctx, n_batch=ctx, threads=args.threads)
            tokens = base.tokenize(evaldata.load().text)
            exact, est = [], {c: [] for c in combos}
            rng = np.random.default_rng(0)
            for bb, bq in zip(batches(base, tokens, ctx, args.chunks, 1), batches(quant, tokens, ctx, args.chunks, 1)):
                x = np.array(bb.logits, dtype=np.float64)
                y = np.asarray(bq.logits, dtype=np.float64)
                lp = x - x.max(1, keepdims=True)  # exact log-softmax in float64
                lp -= np.log(np.exp(lp).sum(1, keepdims=True))
                lq = y - y.max(1, keepdims=True)
                lq -= np.log(np.exp(lq).sum(1, keepdims=True))
                p = np.exp(lp)
                exact.append((p * (lp - lq)).sum(1))
                lse_y = np.log(np.exp(y - y.max(1, keepdims=True)).sum(1)) + y.max(1)
                for k, m in combos:
                    _, head, lph, tail, lpt, rest = baseline_rows(x.astype(np.float32), k, m, rng.random((len(x), 1)))
                    if m == 0:  # the head-only partition bound, for comparison
                        lqh = np.take_along_axis(lq, head, 1)
                        qr = np.clip(1 - np.exp(lqh).sum(1), 1e-30, 1)
                        t_ = np.where(rest > 0, rest * (np.log(np.maximum(rest, 1e-300)) - np.log(qr)), 0)
                        est[(k, m)].append((np.exp(lph) * (lph - lqh)).sum(1) + t_)
                    else:
                        est[(k, m)].append(kld_rows(y.astype(np.float32), lse_y, head, lph, tail, lpt, rest))
            base.close()
            quant.close()
            e = np.concatenate(exact)
            cells = []
            for c in combos:
                a = np.concatenate(est[c])
                cells.append(f"{100 * (a.mean() / e.mean() - 1):+6.2f}% p99 {100 * (np.percentile(a, 99) / np.percentile(e, 99) - 1):+6.1f}%")
            print(f"{model:12} {t:7} {e.mean():8.5f} {np.percentile(e, 99):7.4f} " + " ".join(f"{c:>22}" for c in cells))
    print("cells: relative error of the mean KLD and of its 99th percentile against the full-vocabulary KLD")
    print("bytes per scored token: " + ", ".join(f"K{k}/M{m}: {(k + m) * 8 + 8}" for k, m in combos)
          + f"; a full float16 distribution: 2 x vocabulary ({scored(ctx)[1]} scored tokens per window)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
