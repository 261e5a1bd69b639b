"""Recommendation eval: the top 3 of ``lqmf recommend`` for each (need,
hardware) case in cases.toml against the answers public guidance gives.
Priors only (an empty history, default preferences), so the figure does not
depend on what the local store holds. Prints every miss and the top-3 hit
rate; exits 1 below --min-hit (default 0.9).

    python evals/recommend/run_eval.py
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def matches(row, rule: dict) -> bool:
    lo, hi = rule["params"]
    if not (lo <= row.facts.params_b <= hi):
        return False
    if row.quant_type not in rule["quants"]:
        return False
    return not rule.get("tasks") or rule["tasks"] in row.facts.tasks


def run(cases: list[dict], verbose: bool = False) -> tuple[int, list[str]]:
    from lqmf.tools.recommend import devices, rank
    from lqmf.tools.recommend.predict import History
    from lqmf.tools.recommend.prefs import Prefs

    hits, lines = 0, []
    here = devices.Hardware("this machine", devices.Kind.CPU, 8, None, 40, 4, "this machine")
    for c in cases:
        hw = devices.resolve(c.get("device"), vram_gb=c.get("vram"), ram_gb=c.get("ram"), here=here)
        rec = rank.recommend(hw, History.of([]), Prefs(), task=c["need"], limit=3)
        top = rec.options[:3]
        ok = any(matches(o, r) for o in top for r in c["expect"])
        hits += ok
        label = f"{c['need']} on {hw.describe()}"
        got = ", ".join(f"{o.facts.name} {o.quant_type} ({o.memory.total_gb:.1f} GB, {o.prediction.gen_tok_s.value:.0f} tok/s)"
                        for o in top) or "nothing"
        if not ok or verbose:
            lines.append(f"{'hit ' if ok else 'MISS'} {label}: {got}")
    return hits, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-hit", type=float, default=0.9)
    ap.add_argument("-v", "--verbose", action="store_true", help="print hits too")
    args = ap.parse_args()
    cases = tomllib.loads((HERE / "cases.toml").read_text())["case"]
    hits, lines = run(cases, args.verbose)
    for line in lines:
        print(line)
    rate = hits / len(cases)
    print(f"recommendation eval: {len(cases)} cases, top-3 hit rate {rate:.1%} ({hits}/{len(cases)})")
    return 0 if rate >= args.min_hit else 1


if __name__ == "__main__":
    sys.exit(main())
