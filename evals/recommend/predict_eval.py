"""Prediction error on held-out runs: every succeeded benchmark in the store
(LQMF_HOME's, or --home) is left out in turn and its size, generation speed,
KLD and delta-ppl predicted from the rest (tools/recommend/predict.py). Prints
each row and the median |error| per figure and basis; exits 1 when the size
error of runs whose family has another run in the store is above --max-size (15 %).

    python evals/recommend/predict_eval.py --home /path/to/lqmf-home
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", help="LQMF_HOME to read (default: the environment's)")
    ap.add_argument("--max-size", type=float, default=15.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.home:
        os.environ["LQMF_HOME"] = args.home
    from lqmf.tools.recommend.devices import this_machine
    from lqmf.tools.recommend.predict import History, held_out
    from lqmf.tools.store.experiments import default_store

    h = History.of(default_store().all())
    rows = held_out(h, this_machine())
    if not any(rows.values()):
        print("no benchmark runs of catalogued models in the store; run evals/recommend/memory_fit.py --fill")
        return 1
    ok = True
    for metric, items in rows.items():
        if args.verbose:
            for x in items:
                print(f"  {metric:14} {x['model']:12} {x['quant_type']:7} truth {x['truth']:.4g} predicted "
                      f"{x['predicted']:.4g} ({x['error_pct']:+.1f} %, {x['basis']})")
        for kind in ("history", "prior"):
            errs = [abs(x["error_pct"]) for x in items if x["kind"] == kind]
            if not errs:
                continue
            worst = max((x for x in items if x["kind"] == kind), key=lambda x: abs(x["error_pct"]))
            med = statistics.median(errs)
            print(f"{metric:14} from {kind:7}: {len(errs):3} held-out runs, median |error| {med:6.1f} %, worst "
                  f"{worst['error_pct']:+.1f} % ({worst['model']} {worst['quant_type']})")
    # the bar: size within 15 % once one run of the family exists (whatever the basis)
    fam = [abs(x["error_pct"]) for x in rows["size"] if x["family_runs"]]
    if fam:
        med = statistics.median(fam)
        print(f"size with a run of the family in the store: {len(fam)} held-out runs, median |error| {med:.1f} % "
              f"(bar {args.max_size:g} %)")
        ok = med <= args.max_size
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
