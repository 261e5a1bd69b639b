"""Evaluate the request parser on the development set (evals/parse/dev.jsonl).

    python evals/parse/run_eval.py                       # built-in parser
    python evals/parse/run_eval.py --mode builtin --mode hybrid --mode llm --limit 60
    python evals/parse/run_eval.py --min-intent 0.97 --min-slot 0.95   # CI: exit 1 below

Metrics (per mode):
- intent accuracy: fraction of utterances whose predicted intent equals the expected one.
- slot accuracy: fraction of utterances whose slots dict equals the expected one exactly
  (same keys, same values; numbers compared as numbers), whatever the intent.
- full match: intent and slots both right.
- per-slot precision / recall: over slot keys; a predicted key is a true positive when the
  expected dict has it with the same value; otherwise a false positive. An expected key
  that is not predicted with the same value is a false negative.
- utterances/s: parse() calls per second in this process (model load excluded for llm).

Inference rule (copilot/parser/CONTRACT.md, "Inference": allowed, not required): when the
expected and the predicted slots name the same ``quant_type``, a ``method`` or ``bits`` equal
to what that type implies (Q*_K* / Q*_0 / F16 -> gguf, NF4/FP4/INT8 -> bnb; bits from the
type) is optional on both sides: it is removed from both before comparing. An inferred value
that disagrees with the type still counts as wrong.

The thresholds (--min-intent, --min-slot) apply to the built-in mode only: the LLM modes
are reported, not gated (the bundled 135M model is far below them).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lqmf.copilot.parser.quants import type_facts  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent / "dev.jsonl"


def load(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not {"text", "intent", "slots"} <= row.keys():
                raise SystemExit(f"{path}:{n}: needs text, intent, slots")
            rows.append(row)
    return rows


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
    return a == b


def normalize_pair(pred: dict, gold: dict) -> tuple[dict, dict]:
    """Apply the inference rule: drop method/bits implied by a shared quant_type."""
    pred, gold = dict(pred), dict(gold)
    qt = gold.get("quant_type")
    if qt and pred.get("quant_type") == qt and qt in type_facts():
        method, bits = type_facts()[qt]
        for key, implied in (("method", method), ("bits", bits)):
            for d in (pred, gold):
                if key in d and _same(d[key], implied):
                    del d[key]
    return pred, gold


def slots_equal(pred: dict, gold: dict) -> bool:
    return pred.keys() == gold.keys() and all(_same(pred[k], gold[k]) for k in gold)


def evaluate(rows: list[dict], parse, mode: str) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    intent_ok = slot_ok = full_ok = 0
    errors = []
    start = time.perf_counter()
    preds = [parse(r["text"]) for r in rows]
    elapsed = time.perf_counter() - start
    for row, pred in zip(rows, preds):
        p_slots, g_slots = normalize_pair(pred.get("slots", {}), row["slots"])
        i_ok = pred.get("intent") == row["intent"]
        s_ok = slots_equal(p_slots, g_slots)
        intent_ok += i_ok
        slot_ok += s_ok
        full_ok += i_ok and s_ok
        for k in set(p_slots) | set(g_slots):
            if k in p_slots and k in g_slots and _same(p_slots[k], g_slots[k]):
                tp[k] += 1
                continue
            if k in p_slots:
                fp[k] += 1
            if k in g_slots:
                fn[k] += 1
        if not (i_ok and s_ok):
            errors.append({"text": row["text"], "expected": {"intent": row["intent"], "slots": row["slots"]},
                           "got": {"intent": pred.get("intent"), "slots": pred.get("slots", {})}})
    n = len(rows)
    per_slot = {}
    for k in sorted(set(tp) | set(fp) | set(fn)):
        prec = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else 0.0
        rec = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else 0.0
        per_slot[k] = {"precision": round(prec, 3), "recall": round(rec, 3), "support": tp[k] + fn[k]}
    return {"mode": mode, "n": n, "intent_accuracy": intent_ok / n, "slot_accuracy": slot_ok / n,
            "full_match": full_ok / n, "utterances_per_s": n / elapsed if elapsed else float("inf"),
            "seconds": elapsed, "per_slot": per_slot, "errors": errors}


def _parser_for(mode: str):
    from lqmf.copilot.parser import parse

    if mode != "builtin":
        from lqmf.copilot.parser import load
        from lqmf.tools.errors import LqmfError

        try:
            load(mode=mode)
        except LqmfError as e:   # no parser LLM named (the bundled one is not offered)
            print(f"\n== mode: {mode}: skipped ({e}; to measure a model anyway, set LQMF_PARSER_LLM_MODEL=PATH.gguf)")
            return None
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            from lqmf.copilot.llm import Provider, parser_config

            if parser_config().provider is Provider.GGUF:
                print(f"\n== mode: {mode}: skipped (llama-cpp-python is not installed)")
                return None
    return lambda text: parse(text, mode)


def report(res: dict, show_errors: int) -> None:
    print(f"\n== mode: {res['mode']}  ({res['n']} utterances)")
    print(f"intent accuracy   {res['intent_accuracy']:.3f}")
    print(f"slot accuracy     {res['slot_accuracy']:.3f}   (exact slots dict, inference rule applied)")
    print(f"full match        {res['full_match']:.3f}")
    print(f"utterances/s      {res['utterances_per_s']:.1f}   ({res['seconds']:.2f} s)")
    print("per-slot          precision  recall  support")
    for k, v in res["per_slot"].items():
        print(f"  {k:<17} {v['precision']:>8.3f}  {v['recall']:>6.3f}  {v['support']:>7}")
    for e in res["errors"][:show_errors]:
        print(f"  x {e['text']!r}\n      expected {json.dumps(e['expected'])}\n      got      {json.dumps(e['got'])}")
    if len(res["errors"]) > show_errors:
        print(f"  ... {len(res['errors']) - show_errors} more (use --show-errors N)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--mode", action="append", choices=["builtin", "llm", "hybrid"],
                    help="repeatable; default: builtin")
    ap.add_argument("--limit", type=int, default=None, help="N utterances evenly spread over the set (the LLM is slow)")
    ap.add_argument("--min-intent", type=float, default=None)
    ap.add_argument("--min-slot", type=float, default=None)
    ap.add_argument("--show-errors", type=int, default=10)
    ap.add_argument("--rules-only", action="store_true",
                    help="built-in rules without the learned intent classifier (for comparison)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--exclude-trained", action="store_true",
                    help="leave out utterances that also appear (same text) in a training set")
    args = ap.parse_args(argv)
    rows = load(args.data)
    if args.exclude_trained:
        from lqmf.copilot.parser.train import SETS

        trained = {r["text"].lower() for p in SETS if p.exists() for r in load(p)}
        kept = [r for r in rows if r["text"].lower() not in trained]
        print(f"excluding {len(rows) - len(kept)} utterances that are also in a training set; {len(kept)} left")
        rows = kept
    if args.rules_only:
        from lqmf.copilot.parser import classifier

        classifier._model = lambda *a, **k: None
    if args.limit and args.limit < len(rows):   # evenly spread, so every intent is sampled
        step = len(rows) / args.limit
        rows = [rows[int(i * step)] for i in range(args.limit)]
    results, failed = [], False
    for mode in args.mode or ["builtin"]:
        parse = _parser_for(mode)
        if parse is None:
            continue
        if mode != "builtin":
            parse(rows[0]["text"])  # load the model outside the timing
        res = evaluate(rows, parse, mode)
        report(res, args.show_errors)
        results.append(res)
        if mode == "builtin":
            if args.min_intent is not None and res["intent_accuracy"] < args.min_intent:
                print(f"FAIL: intent accuracy {res['intent_accuracy']:.3f} < {args.min_intent}")
                failed = True
            if args.min_slot is not None and res["slot_accuracy"] < args.min_slot:
                print(f"FAIL: slot accuracy {res['slot_accuracy']:.3f} < {args.min_slot}")
                failed = True
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
