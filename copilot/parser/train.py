"""Train the learned intent classifier from the dev and tuning sets and write
``intent_model.json`` (numpy at build time only; the held-out set is never read).

    python -m copilot.parser.train            # train on dev + tune, write the artifact
    python -m copilot.parser.train --cv 5     # k-fold estimate first (prints accuracy)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lqmf.copilot.parser.classifier import MODEL_FILE
from lqmf.copilot.parser.schema import Intent

ROOT = Path(__file__).resolve().parents[2]
SETS = [ROOT / "evals" / "parse" / name for name in ("dev.jsonl", "tune.jsonl", "tune2.jsonl", "tune3.jsonl",
                                                                 "tune4.jsonl", "tune5.jsonl", "tune6.jsonl", "tune7.jsonl", "tune8.jsonl", "tune9.jsonl")]
FORBIDDEN = "heldout"
CLASSES = [i.value for i in Intent]
PRUNE_BELOW = 1e-2   # a feature whose largest weight is smaller is dropped from the artifact


def load_rows(paths: list[Path]) -> list[dict]:
    rows = []
    for p in paths:
        if FORBIDDEN in p.name:
            raise SystemExit(f"{p}: the held-out set is never trained on")
        rows += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def featurize(rows: list[dict]) -> list[dict[str, float]]:
    from lqmf.copilot.parser import builtin

    return [builtin.features_of(r["text"]) for r in rows]


def fit(feats: list[dict[str, float]], labels: list[str], l2: float = 3e-3, epochs: int = 400,
        min_count: int = 1) -> dict[str, list[float]]:
    import numpy as np

    counts: dict[str, int] = {}
    for f in feats:
        for k in f:
            counts[k] = counts.get(k, 0) + 1
    vocab = sorted(k for k, c in counts.items() if c >= min_count)
    index = {k: i for i, k in enumerate(vocab)}
    X = np.zeros((len(feats), len(vocab)), dtype=np.float32)
    for r, f in enumerate(feats):
        for k, val in f.items():
            if k in index:
                X[r, index[k]] = val
    y = np.array([CLASSES.index(lab) for lab in labels])
    Y = np.eye(len(CLASSES), dtype=np.float32)[y]
    W = np.zeros((len(vocab), len(CLASSES)), dtype=np.float32)
    m, v = np.zeros_like(W), np.zeros_like(W)
    lr, b1, b2 = 0.05, 0.9, 0.999
    for t in range(1, epochs + 1):
        Z = X @ W
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        G = X.T @ (P - Y) / len(feats) + l2 * W
        m = b1 * m + (1 - b1) * G
        v = b2 * v + (1 - b2) * G * G
        W -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
    # weights this small change no decision; leaving them out keeps `lqmf parse TEXT` start-up short
    return {k: [round(float(x), 3) for x in W[i]] for k, i in index.items() if np.abs(W[i]).max() >= PRUNE_BELOW}


def predict(weights: dict[str, list[float]], f: dict[str, float]) -> str:
    z = [0.0] * len(CLASSES)
    for k, val in f.items():
        w = weights.get(k)
        if w:
            for i, wi in enumerate(w):
                z[i] += wi * val
    return CLASSES[max(range(len(CLASSES)), key=z.__getitem__)]


def cross_validate(rows: list[dict], feats: list[dict], k: int, **kw) -> float:
    ok = 0
    for fold in range(k):
        train = [i for i in range(len(rows)) if i % k != fold]
        test = [i for i in range(len(rows)) if i % k == fold]
        w = fit([feats[i] for i in train], [rows[i]["intent"] for i in train], **kw)
        ok += sum(predict(w, feats[i]) == rows[i]["intent"] for i in test)
    return ok / len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cv", type=int, default=0, help="k-fold cross-validation before training")
    ap.add_argument("--l2", type=float, default=3e-3)
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args(argv)
    rows = load_rows(SETS)
    feats = featurize(rows)
    if args.cv:
        print(f"{args.cv}-fold intent accuracy on dev+tune ({len(rows)} rows): "
              f"{cross_validate(rows, feats, args.cv, l2=args.l2):.3f}")
    weights = fit(feats, [r["intent"] for r in rows], l2=args.l2)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"classes": CLASSES, "trained_on": [p.name for p in SETS], "l2": args.l2,
                               "weights": weights}, separators=(",", ":")), encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(weights)} features, {args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
