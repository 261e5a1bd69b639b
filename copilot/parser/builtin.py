"""The built-in parser: normalization, finders run in order of how
unambiguous they are (paths and hub ids, quant types, methods, bit widths,
model names, then the other slots), intent scoring, and the per-intent
shaping of slots the contract asks for. No model, no network, ~0.2 ms."""
from __future__ import annotations

import re

from lqmf.copilot.parser import intents, models, quants, slots as slot_finders, topics
from lqmf.copilot.parser.lexicon import PERCENT
from lqmf.copilot.parser.numbers import clean_number
from lqmf.copilot.parser.quants import Hit, type_facts
from lqmf.copilot.parser.schema import ALLOWED, Intent
from lqmf.copilot.parser.text import normalize

_HAS_LETTER = re.compile(r"[a-z]")
ALTERNATIVE_MIN = 0.25   # an unknown utterance whose best guess is this likely gets it as "alternative"
# "<a story>, <the question>": when the whole line is unsure, its last clause alone may be sure
UNSURE_BELOW, CLAUSE_SURE = 0.6, 0.8
_ASKS = re.compile(r"\b(?:what (?:is|are|does|do|did|was)|what's|whats|how (?:does|do|can|could|should|fast|good|much|many)|"
                   r"why (?:is|are|does|do|would)|which|can you|could you|please|show me|tell me)\b")


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))


def _shape(text: str, hits: list[tuple[Hit, str]]) -> str:
    """Replace the hits' spans by placeholders (``<m>``, ``<q>``) for the intent cues."""
    out, pos = [], 0
    for hit, token in sorted(hits, key=lambda x: x[0].start):
        if hit.start < pos:
            continue
        out.append(text[pos:hit.start])
        out.append(token)
        pos = hit.end
    out.append(text[pos:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _canonical_types(text: str, qhits: list[Hit]) -> str:
    """The text with each quant type named as it is declared ("q 4 k m" -> "q4_k_m"); a type read
    from one of its words ("double quantization") keeps the user's words, which name a concept."""
    out, pos = [], 0
    for h in qhits:
        out += [text[pos:h.start], text[h.start:h.end] if h.worded else str(h.value).lower()]
        pos = h.end
    return "".join(out + [text[pos:]])


def extract(norm: str) -> tuple[dict, str, str]:
    """Every slot the text mentions (before intent filtering), the shaped text, and the
    text with quant types in canonical spelling (for topics)."""
    job = slot_finders.job_id(norm)  # before model names: "stop job abc123" is a job, not a model
    at = norm.find(job["job_id"]) if job else -1
    t = norm[:at] + " " * len(job["job_id"]) + norm[at + len(job["job_id"]):] if job else norm
    refs = models.find_refs(t)
    t = models.mask(t, refs)
    # "awq 4 bit", "gptq 4-bit": a method and a width, as the contract has them (not a type named)
    qhits = [h for h in quants.find_quant_types(t)
             if t[h.start:h.end] == str(h.value).lower() or not quants.method_and_bits(t[h.start:h.end])]
    t = models.mask(t, qhits)
    mhits = quants.find_methods(t)
    t = models.mask(t, mhits)
    bhits = quants.find_bits(t)
    t = models.mask(t, bhits)
    names = models.find_models(t)
    t = models.mask(t, names)
    found: dict = {}
    model_hits = sorted(refs + names, key=lambda h: h.start)
    if model_hits:
        found["model"] = str(model_hits[0].value)
    types = _unique([h.value for h in qhits])
    if len(types) == 1:
        found["quant_type"] = types[0]
    elif types:
        found["quant_types"] = types
    methods = _unique([h.value for h in mhits])
    if len(methods) == 1:
        found["method"] = methods[0]
    elif methods:
        found["methods"] = methods
    bits = _unique([h.value for h in bhits])
    if bits:
        found["bits"] = bits[0]
    found.update(job)
    if job:  # the other slot finders read the id in place, as before
        t = t[:at] + job["job_id"] + t[at + len(job["job_id"]):]
    for key, value in slot_finders.find_all(t).items():
        found.setdefault(key, value)
    shaped = _shape(norm, [(h, "<m>") for h in model_hits] + [(h, "<q>") for h in qhits])
    return found, shaped, _canonical_types(norm, qhits)


def _fit(intent: Intent, found: dict, norm: str, canon: str) -> dict:
    """The slots of ``found`` in the form the contract gives for ``intent``."""
    s = dict(found)
    if intent is Intent.COMPARE:
        if "quant_type" in s:
            s["quant_types"] = [s.pop("quant_type")]
        if "method" in s:
            s["methods"] = [s.pop("method")]
    elif "methods" in s:
        s["method"] = s.pop("methods")[0]
    if intent is Intent.QUANTIZE and "quant_type" in s:
        method, bits = type_facts()[s["quant_type"]]
        if s.get("method", method) == method and s.get("bits", bits) == bits:
            s.setdefault("method", method)
            s.setdefault("bits", bits)
    if intent is Intent.QUANTIZE and "quant_type" in s and s.get("bits") not in (None, type_facts()[s["quant_type"]][1]):
        s.pop("bits")   # "q4_k_m at 8 bit" contradicts itself: keep the exact type
    if intent is Intent.TUNE and "max_ppl_delta_pct" not in s:
        m = PERCENT.search(norm)
        if m:
            s["max_ppl_delta_pct"] = clean_number(float(m.group(1)))
    if intent is Intent.QUERY and "max_size_gb" not in s:
        # "which of my models fit in 8 GB of VRAM": a size filter over my artifacts, not my hardware
        for key in ("vram_gb", "ram_gb"):
            if key in s:
                s["max_size_gb"] = s.pop(key)
                break
    if intent is Intent.JOBS and "job_id" in s:
        s.pop("status", None)   # "did job 88 fail": a question about that job, not a filter
    if intent is Intent.EXPLAIN:
        topic = topics.explain_topic(canon)
        s = {"topic": topic} if topic else {}
    elif intent is Intent.TUTORIAL:
        topic = topics.tutorial_topic(canon)
        s = {"topic": topic} if topic else {}
    allowed = {slot.value for slot in ALLOWED[intent]}
    return {k: v for k, v in s.items() if k in allowed}


def analyze(norm: str) -> tuple[dict, str, str, intents.IntentScore]:
    """Slots found, shaped text, canonical text and the rule scores of normalized text."""
    found, shaped, canon = extract(norm)
    return found, shaped, canon, intents.score(shaped, found)


def features_of(text: str) -> dict[str, float]:
    """The classifier's features of one raw utterance (training uses the same path)."""
    from lqmf.copilot.parser import features

    norm = normalize(text or "")
    found, shaped, _, rules = analyze(norm)
    return features.extract(shaped, found, rules)


def _alternative(probs: dict[str, float], found: dict, norm: str, canon: str) -> dict | None:
    """The likeliest request for an utterance judged unknown, when it is a plausible guess."""
    intent, p = max(((i, v) for i, v in probs.items() if i != Intent.UNKNOWN), key=lambda x: x[1])
    if p < ALTERNATIVE_MIN:
        return None
    return {"intent": intent, "slots": _fit(Intent(intent), found, norm, canon), "confidence": round(p, 2)}


def _last_clause(norm: str) -> str | None:
    """The last question in a line that tells a story first ("... on the hub, what is an imatrix");
    found by its question words, so transcripts without punctuation work too."""
    starts = [m.start() for m in _ASKS.finditer(norm) if m.start() > 0]
    if not starts:
        return None
    clause = norm[starts[-1]:].strip()
    return clause if len(clause.split()) >= 2 and len(clause) < len(norm) * 0.8 else None


def _sure_intent(clause: str) -> tuple[Intent, float] | None:
    """The clause's own intent when the classifier is sure of it (never ``unknown``)."""
    from lqmf.copilot.parser import classifier, features

    found, shaped, _, rules = analyze(clause)
    probs = classifier.probabilities(features.extract(shaped, found, rules)) or {}
    best = max(probs, key=probs.__getitem__, default=None)
    if best is None or best == Intent.UNKNOWN or probs[best] < CLAUSE_SURE:
        return None
    return Intent(best), round(probs[best], 2)


# slots that plain talk also gives ("that's all for today": a day, a limit), not a domain word
_NOT_DOMAIN = frozenset({"since_days", "limit", "sort", "order", "priority"})
# a nod before the request: "cool, ...", "makes sense. and ...", "thanks! now ..."
_SOCIAL_LEAD = re.compile(r"^(?:(?:ok(?:ay)?|cool|nice|neat|great|awesome|perfect|thanks|thank you|thx|alright|"
                          r"hmm+|so|well|gotcha|makes sense|got it|i see|sure|right|good|wow|interesting|"
                          r"and|now|then|also)[,.!]?\s+)+")


def _as_written(job_id: str, text: str) -> str:
    """The id in the case the user wrote it (the rules read lower-case text)."""
    m = re.search(rf"(?<![\w-]){re.escape(job_id)}(?![\w-])", text, re.IGNORECASE)
    return m.group(0) if m else job_id


def parse(text: str) -> dict:
    """``{"intent", "slots", "confidence", "parser"}`` for one utterance; for an unknown one
    also ``chitchat`` (greeting, thanks, ...) or ``alternative`` (a guess worth confirming)."""
    from lqmf.copilot.parser import chitchat, classifier, features

    norm = normalize(text or "")
    if not _HAS_LETTER.search(norm):   # no words at all; only dots ("...", a user waiting): a nudge, as small talk
        nudge = {"chitchat": "smalltalk"} if re.fullmatch(r"\s*[.…~-]+\s*", text or "") else {}
        return {"intent": "unknown", "slots": {}, "confidence": 1.0, "parser": "builtin", **nudge}
    found, shaped, canon, rules = analyze(norm)
    probs = classifier.probabilities(features.extract(shaped, found, rules))
    if probs is None:
        intent, confidence = rules.intent, rules.confidence
    else:
        best = max(probs, key=probs.__getitem__)
        intent, confidence = Intent(best), round(probs[best], 2)
    if probs is not None and confidence < UNSURE_BELOW:
        clause = _last_clause(norm)
        if clause:
            sub = _sure_intent(clause)
            if sub and sub[1] > confidence:
                intent, confidence = sub
    slots = _fit(intent, found, norm, canon)
    if slots.get("job_id"):
        slots["job_id"] = _as_written(str(slots["job_id"]), text)
    out = {"intent": intent.value, "slots": slots, "confidence": confidence, "parser": "builtin"}
    if intent is Intent.UNKNOWN:
        lead = _SOCIAL_LEAD.match(norm)
        if lead and len(norm[lead.end():].split()) >= 2:   # "cool, what is kld": the request after the nod
            rest = parse(norm[lead.end():])
            if rest["intent"] != Intent.UNKNOWN.value:
                return rest
        kind = chitchat.kind(norm, domain=bool(set(found) - _NOT_DOMAIN))
        if kind:
            out["chitchat"] = kind
        elif probs is not None:
            alt = _alternative(probs, found, norm, canon)
            if alt:
                out["alternative"] = alt
    return out
