"""Features of one utterance for the learned intent classifier: word 1-2 grams
and character 3-4 grams of the shaped text (model names as ``<m>``, quant types
as ``<q>``, numbers as ``<n>``), the slots found, and the rule scores of
``intents.score`` (so the classifier learns when to trust the rules)."""
from __future__ import annotations

import re

from lqmf.copilot.parser.intents import MIN_SCORE, IntentScore

_NUM = re.compile(r"\b\d+(?:\.\d+)?\b")
_TOKEN = re.compile(r"<[mq]>|<n>|[a-z][a-z0-9'/\-]*")
RULE_SCALE = 5.0


def words(shaped: str) -> list[str]:
    return _TOKEN.findall(_NUM.sub("<n>", shaped))


def extract(shaped: str, slots: dict, rules: IntentScore) -> dict[str, float]:
    """Feature name -> value (1.0 for indicator features)."""
    toks = words(shaped)
    feats: dict[str, float] = {"bias": 1.0}
    for t in toks:
        feats["w:" + t] = 1.0
    for a, b in zip(["^", *toks], [*toks, "$"]):
        feats[f"b:{a}_{b}"] = 1.0
    for t in toks:
        if t.startswith("<") or len(t) < 4:
            continue
        w = f"#{t}#"
        for n in (3, 4):
            for i in range(len(w) - n + 1):
                feats["c:" + w[i:i + n]] = 1.0
    for key in slots:
        feats["s:" + key] = 1.0
    if not toks:
        feats["empty"] = 1.0
    for intent, score in rules.scores.items():
        if score > 0:
            feats["r:" + intent.value] = min(score, 10.0) / RULE_SCALE
    winner = rules.intent.value if rules.score >= MIN_SCORE else "unknown"
    feats["rw:" + winner] = 1.0
    return feats
