"""Retrieval eval for the explain docs.

    python evals/explain/run_eval.py                 # the held-out questions, with gates
    python evals/explain/run_eval.py --tuning        # the tuning list (what weights were chosen on)
    python evals/explain/run_eval.py --misses        # also print each miss

Prints top-1 and top-3 hit rates over on-topic questions and the no-note
accuracy over off-topic ones. Top-1: the answer comes from the expected doc
(best hit, with a score over tools.docs_index.NO_NOTE). Top-3: the expected doc
is among the three hits the user is shown (the answer and its "see also", or
the nearest topics of a "no note" reply). An off-topic question passes when
its best score is under NO_NOTE. Exits 1 when a gate fails: top-1 >= 90%, top-3 >= 98%,
no-note >= 90%.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

GATES = {"top1": 0.90, "top3": 0.98, "no_note": 0.90}
GATED = {"heldout.jsonl", "questions.jsonl"}     # the gates, exit 1 below; the CI floors are in tests/test_explain_eval.py


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(rows: list[dict], misses: bool = False) -> dict:
    from lqmf.tools.docs_index import NO_NOTE, index

    idx = index()
    t0 = time.perf_counter()
    idx.collection()
    build_s = time.perf_counter() - t0
    on = [r for r in rows if r["doc"]]
    off = [r for r in rows if not r["doc"]]
    top1 = top3 = no_note = 0
    lowest_on, highest_off = 1.0, 0.0
    t0 = time.perf_counter()
    times = []
    for r in rows:
        t1 = time.perf_counter()
        hits = idx.search(r["q"], k=3)
        times.append(time.perf_counter() - t1)
        best = hits[0].score if hits else 0.0
        names = [h.doc for h in hits]
        if r["doc"]:
            ok1 = bool(names) and names[0] == r["doc"] and best >= NO_NOTE
            ok3 = r["doc"] in names        # answered, or listed among the nearest topics
            top1 += ok1
            top3 += ok3
            if names and names[0] == r["doc"]:     # right doc first, whatever its score
                lowest_on = min(lowest_on, best)
            if misses and not ok1:
                print(f"  miss{'' if ok3 else ' (not top-3)'}: {r['q']!r} -> "
                      + ", ".join(f"{h.doc} {h.score:.3f}" for h in hits) + f"   want {r['doc']}")
        else:
            no_note += best < NO_NOTE
            highest_off = max(highest_off, best)
            if misses and best >= NO_NOTE:
                print(f"  off-topic answered: {r['q']!r} -> {names[0]} {best:.3f}")
    query_ms = (time.perf_counter() - t0) / max(len(rows), 1) * 1000
    return {"on_topic": len(on), "off_topic": len(off),
            "top1": top1 / max(len(on), 1), "top3": top3 / max(len(on), 1),
            "no_note": no_note / max(len(off), 1) if off else 1.0,
            "lowest_top1_score": round(lowest_on, 3), "highest_off_topic_score": round(highest_off, 3),
            "threshold": NO_NOTE, "index_build_s": round(build_s, 2), "query_ms": round(query_ms, 1),
            "query_ms_median": round(statistics.median(times) * 1000, 1) if times else 0.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tuning", action="store_true", help="run the tuning list instead of the eval")
    ap.add_argument("--misses", action="store_true", help="print every miss")
    ap.add_argument("--file", help="another question list in evals/explain/ (e.g. questions.jsonl, the first eval)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import os

    # a fresh index in a temp data dir unless LQMF_HOME is set: the eval measures the docs as they are
    if not os.environ.get("LQMF_HOME"):
        from lqmf.tools.config import scratch_data_dir

        scratch_data_dir("lqmf-explain-eval-")
    path = HERE / (args.file or ("tuning.jsonl" if args.tuning else "heldout.jsonl"))
    gated = not args.tuning and path.name in GATED
    res = evaluate(load(path), misses=args.misses)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{path.name}: {res['on_topic']} on-topic, {res['off_topic']} off-topic questions")
        print(f"top-1 {res['top1']:.1%}   top-3 {res['top3']:.1%}   no-note {res['no_note']:.1%}")
        print(f"threshold {res['threshold']}; lowest score of a right first hit {res['lowest_top1_score']}, "
              f"highest off-topic score {res['highest_off_topic_score']}")
        print(f"index build {res['index_build_s']} s, {res['query_ms']} ms per question "
              f"(median {res['query_ms_median']} ms)")
    failed = [g for g, limit in GATES.items() if res[g] < limit]
    if failed and gated:
        print("FAILED gates: " + ", ".join(f"{g} < {GATES[g]:.0%}" for g in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
