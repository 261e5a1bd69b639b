"""Tune with a gate finds the same answer as an exhaustive search over the same
candidates, in at most half the trials. Prints both searches.

    python bench/tune_vs_exhaustive.py [--gate "kld<0.05"] [--chunks 4] [--model smollm2] [--methods gguf,bnb]

With ``--methods`` the candidates mix methods (tools/tune/paths.py): both
searches then answer per runtime path too, and those answers are compared.

Both searches run on the same trial journal (a trial is measured once, the
first time either search asks for it; LQMF_HOME decides where it lives), so the
trial counts compare the searches, not the machine's load. The exhaustive
search runs first: the tune's prior never sees a measurement it did not ask for
(the prior is calibrated only on the tune's own trials)."""
from __future__ import annotations

import argparse
import sys
import time


def show(name: str, res, seconds: float) -> None:
    print(f"\n== {name}: {res.n_trials} trials of {len(res.candidates)} candidates ({seconds:.0f} s) ==")
    for i, t in enumerate(res.trials, 1):
        r = t.record
        kld = r.get("kld_mean")
        print(f"  {i:2d}. {t.candidate:<22} size {r.get('size_bytes') or 0:>11,}  KLD "
              f"{kld if kld is None else f'{kld:.4f}'}  {'pass' if t.passed else 'fail: ' + str(t.failed)}")
    for c, why in res.pruned.items():
        print(f"      {c:<22} not tried: {why}")
    print(f"  answer: {res.best.candidate if res.best else None} ({res.reason})")
    if len(res.paths) > 1:
        for path, p in res.paths.items():
            print(f"    {path} path ({', '.join(p['methods'])}): {p['best']} in {len(p['trials'])} trials "
                  f"of {len(p['candidates'])}")


def main(argv: list[str]) -> int:
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.tune import default_candidates, tune

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--gate", default="kld<0.05")
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--use", default=None, help="add the imatrix candidates for this calibration text")
    ap.add_argument("--methods", default=None, help="mix methods, e.g. gguf,bnb (default gguf)")
    a = ap.parse_args(argv)
    gate = parse_gate(a.gate)
    cands = default_candidates(a.use, methods=a.methods.split(",") if a.methods else None)
    t0 = time.monotonic()
    ex, _ = tune(a.model, gate, candidates=cands, chunks=a.chunks, exhaustive=True, parallel=1)
    t1 = time.monotonic()
    tu, runner = tune(a.model, gate, candidates=cands, chunks=a.chunks, parallel=1)
    t2 = time.monotonic()
    show("exhaustive", ex, t1 - t0)
    show("tune", tu, t2 - t1)
    same = (ex.best and tu.best and ex.best.candidate == tu.best.candidate) or (ex.best is None and tu.best is None)
    half = tu.n_trials * 2 <= ex.n_trials
    paths_same = all((ex.paths.get(p) or {}).get("best") == q.get("best") for p, q in tu.paths.items())
    if len(tu.paths) > 1:
        print(f"\nsame answer on every path: {paths_same}")
        same = same and paths_same
    print(f"\nsame answer: {bool(same)}; tune used {tu.n_trials} of {ex.n_trials} trials "
          f"({'at most half' if half else 'MORE than half'}); gate {gate.text}, chunks {a.chunks}, model {a.model}")
    return 0 if same and half else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
