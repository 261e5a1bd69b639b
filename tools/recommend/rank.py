"""The ranked answer: for a need (task) and a machine, every catalogued model
of that task at each candidate quant type, sized (``memfit``), judged
(``oracle``), predicted (``predict``), scored, and the best quant type of
each model listed with why, where it is, and how to get it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from lqmf.tools.catalog import ModelFacts, catalog
from lqmf.tools.errors import InvalidInput
from lqmf.tools.quantize.registry import current
from lqmf.tools.quantize.types import BenchEngine
from lqmf.tools.recommend import predict as pr
from lqmf.tools.recommend.devices import Hardware, Kind
from lqmf.tools.recommend.memfit import MemoryEstimate, estimate
from lqmf.tools.recommend.oracle import Verdict, Why, check
from lqmf.tools.recommend.prefs import Prefs

TASKS = ("chat", "general", "creative", "code", "math", "reasoning", "summarization")
SPECIALIST_TASKS = ("code", "math", "reasoning")
DEFAULT_CTX = 4096
READING_SPEED = 10.0    # tok/s below which chat feels slow (people read ~5-8 words/s)
HEADROOM = 0.85         # past this share of the budget an option is penalised (KV growth, other programs)
LOSS_WEIGHT = 20.0      # score lost per unit of predicted KLD


@dataclass
class Option:
    facts: ModelFacts
    quant_type: str
    method: str
    memory: MemoryEstimate
    budget_gb: float
    prediction: pr.Prediction
    verdict: Verdict
    score: float = 0.0
    why: str = ""
    where: str | None = None          # "bundled", "HF cache", "quantized already: PATH"; None: not here
    fetch: str | None = None          # the command that gets it when it is not here
    fetch_note: str | None = None     # what to do before (a gated licence)

    @property
    def fits(self) -> bool:
        return self.verdict.ok

    def row(self) -> dict:
        p = self.prediction
        return {"model": self.facts.name, "title": self.facts.title, "params_b": self.facts.params_b,
                "quant_type": self.quant_type, "method": self.method,
                "size_gb": round((p.size_bytes.value or 0) / 1e9, 2), "memory_gb": round(self.memory.total_gb, 2),
                "ctx": self.memory.ctx, "gen_tok_s": round(p.gen_tok_s.value or 0, 1),
                "kld": round(p.kld.value or 0, 4), "ppl_delta_pct": round(p.ppl_delta_pct.value or 0, 2),
                "errors": {k: {"error_pct": round(getattr(p, k).error_pct or 0, 1), "measured": getattr(p, k).measured,
                               "basis": getattr(p, k).basis} for k in ("size_bytes", "gen_tok_s", "kld")},
                "fits": self.fits, "why": self.why, "where": self.where, "fetch": self.fetch, "fetch_note": self.fetch_note,
                "hub_id": self.facts.hub_id, "license": self.facts.license, "score": round(self.score, 3),
                "reasons": self.verdict.reasons, "cautions": self.verdict.cautions}


@dataclass
class Recommendation:
    task: str
    hardware: Hardware
    options: list[Option]                 # what fits, best first (one per model)
    nearest: list[Option] = field(default_factory=list)  # when nothing fits: the closest, and why not
    notes: list[str] = field(default_factory=list)


# Words people use for a task (regexes on lower-case text), first match wins
TASK_WORDS = (
    ("creative", r"creative|writing|stor(?:y|ies)|fiction|poe(?:m|try)|novel|role ?play|storytelling"),
    ("code", r"cod(?:e|ing|er)|program|software|python|javascript|developer|autocomplete"),
    ("math", r"math|arithmetic|algebra|calculus"),
    ("reasoning", r"reason|thinking|logic|puzzle"),
    ("summarization", r"summar|tl;?dr|digest"),
    ("chat", r"chat|assistant|convers|talk|q ?& ?a|questions"),
    ("general", r"general|anything|all[- ]round|everyday"),
)


def check_task(task: str | None) -> str:
    """The task a word or phrase names ("creative writing" -> creative); else one sentence."""
    import re

    t = (task or "chat").strip().lower()
    if t in TASKS:
        return t
    for name, rx in TASK_WORDS:
        if re.search(rf"\b(?:{rx})", t):
            return name
    raise InvalidInput(f"I don't know the task '{task}'", "known tasks: " + ", ".join(TASKS))


def candidate_types() -> list[str]:
    """The tuning ladder of every backend (Q8_0 ... Q3_K_M), the types a bit width names, and Q2_K-like floors."""
    reg = current()
    out = [t.value for t in reg.tune_types()]
    for t, s in reg.specs.items():
        if s.pick and s.bits < 16 and t.value not in out:
            out.append(t.value)
    return out


def _serves(f: ModelFacts, task: str) -> bool:
    if task in ("chat", "general"):
        return bool({"chat", "general"} & set(f.tasks))
    return task in f.tasks


def _score(o: Option, task: str, prefs: Prefs, min_tok_s: float | None) -> float:
    f, p = o.facts, o.prediction
    cap = math.log2(max(f.params_b, 0.05)) + 0.5 * (f.year - 2024)
    if task in SPECIALIST_TASKS and f.tasks and f.tasks[0] == task:
        cap += 0.75
    loss = LOSS_WEIGHT * (p.kld.value or 0.0) * prefs.weight("quality")
    want = min_tok_s or READING_SPEED
    tok = max(p.gen_tok_s.value or 0.01, 0.01)
    slow = 1.5 * prefs.weight("speed") * max(0.0, math.log2(want / tok))
    util = o.memory.total_gb / max(o.budget_gb, 0.01)
    tight = 4.0 * max(0.0, util - HEADROOM)
    big = 0.05 * prefs.weight("size") * o.memory.total_gb
    rating = prefs.ratings.get(f"{f.name}|{o.quant_type}")
    bias = 0.0 if rating is None else 0.4 * (rating - 3)
    return cap - loss - slow - tight - big + bias


def _why(o: Option, task: str, hw: Hardware, min_tok_s: float | None) -> str:
    p = o.prediction
    spare = o.budget_gb - o.memory.total_gb
    parts = [f"{o.facts.params_b:g}B {o.facts.title or o.facts.name} for {task}",
             f"{o.memory.total_gb:.1f} GB with a {o.memory.ctx}-token context leaves {spare:.1f} GB",
             f"{o.quant_type} costs about KLD {p.kld.value:.3f}"]
    tok = p.gen_tok_s.value or 0
    want = min_tok_s or READING_SPEED
    if tok < want:
        parts.append(f"~{tok:.0f} tok/s on {hw.name} is below reading speed")
    return "; ".join(parts)


def where_is(f: ModelFacts, qtype: str) -> tuple[str | None, str | None, str | None]:
    """Where the model is on this machine, or the command that fetches it."""
    from lqmf.tools.config import artifacts_dir
    from lqmf.tools.models import _hub_snapshot, bundled_models, fetch_command

    made = current().backend_of(qtype).artifact.name(f.name, qtype)
    if (artifacts_dir() / f.name / made).exists():
        return f"quantized already: {artifacts_dir() / f.name / made}", None, None
    if f.bundled and f.name in bundled_models():
        return "bundled", None, None
    if f.hub_id and _hub_snapshot(f.hub_id) is not None:
        return "HF cache", None, None
    gated = any(w in f.license for w in ("Llama", "Gemma"))
    return None, fetch_command(f.hub_id), \
        f"accept the {f.license} licence on https://huggingface.co/{f.hub_id} first" if gated else None


def _on_disk(f: ModelFacts) -> bool:
    from lqmf.tools.models import _hub_snapshot, bundled_models

    return (f.bundled and f.name in bundled_models()) or bool(f.hub_id and _hub_snapshot(f.hub_id) is not None)


def options(facts_list: list[ModelFacts], hw: Hardware, history: pr.History, prefs: Prefs, *, task: str,
            ctx: int | None = None, method: str | None = None, min_tok_s: float | None = None,
            max_size_gb: float | None = None, errors: dict | None = None) -> list[Option]:
    reg = current()
    out = []
    for f in facts_list:
        for qt in candidate_types():
            backend = reg.backend_of(qt)
            if method and backend.method.value != method:
                continue
            c = min(ctx or DEFAULT_CTX, f.context)
            pred = pr.predict(f, qt, hw, history, ctx=c, errors=errors)
            engine = backend.bench or BenchEngine.TRANSFORMERS
            mem = estimate(f, reg.spec(qt), c, hw.kind, engine, int(pred.size_bytes.value or 0) or None)
            verdict = check(f, qt, hw, ctx=c, records=history.failures, from_gguf=f.bundled,
                            weights=int(pred.size_bytes.value or 0) or None)
            if max_size_gb and (pred.size_bytes.value or 0) / 1e9 > max_size_gb:
                verdict.refuse(Why.REQUEST, f"{(pred.size_bytes.value or 0) / 1e9:.1f} GB is over the {max_size_gb:g} GB asked")
            o = Option(f, qt, backend.method.value, mem, hw.budget_gb, pred, verdict)
            o.score = _score(o, task, prefs, min_tok_s)
            out.append(o)
    return out


def recommend(hw: Hardware, history: pr.History, prefs: Prefs, *, task: str | None = None, model: ModelFacts | None = None,
              ctx: int | None = None, method: str | None = None, min_tok_s: float | None = None,
              max_size_gb: float | None = None, limit: int = 5, errors: dict | None = None) -> Recommendation:
    task = check_task(task)
    pool = [model] if model else [f for f in catalog() if _serves(f, task)]
    opts = options(pool, hw, history, prefs, task=task, ctx=ctx, method=method, min_tok_s=min_tok_s,
                   max_size_gb=max_size_gb, errors=errors)
    best: dict[str, Option] = {}
    for o in sorted((o for o in opts if o.fits), key=lambda o: -o.score):
        best.setdefault(o.facts.name, o)
    ranked = list(best.values())[:limit]
    if ranked and not model and not any(_on_disk(o.facts) for o in ranked):
        # none is here: add the best one that is (any chat or general model), to try at once
        local = [f for f in catalog() if _on_disk(f) and (_serves(f, task) or _serves(f, "chat"))]
        here = [o for o in options(local, hw, history, prefs, task=task, ctx=ctx, method=method, min_tok_s=min_tok_s,
                                   max_size_gb=max_size_gb, errors=errors) if o.fits]
        if here:
            ranked.append(max(here, key=lambda o: o.score))
    rec = Recommendation(task, hw, ranked)
    if not ranked:
        # nothing fits: the smallest overshoot of each model, and (for a named model) what else fits
        near: dict[str, Option] = {}
        for o in sorted(opts, key=lambda o: o.memory.total_gb - o.budget_gb):
            near.setdefault(o.facts.name, o)
        rec.nearest = list(near.values())[:3]
        if model:  # what fits instead
            others = recommend(hw, history, prefs, task=task, ctx=ctx, method=method, min_tok_s=min_tok_s,
                               max_size_gb=max_size_gb, limit=3, errors=errors)
            rec.options = others.options
    for o in rec.options + rec.nearest:
        o.why = _why(o, task, hw, min_tok_s) if o.fits else "; ".join(o.verdict.reasons)
        if o.fits and task not in o.facts.tasks and not (task == "general" and "chat" in o.facts.tasks):
            o.why = f"already on this machine, to try at once (not made for {task}); " + o.why
        o.where, o.fetch, o.fetch_note = where_is(o.facts, o.quant_type)
    if ranked and hw.kind is Kind.CPU:
        top = ranked[0]
        speed = lambda o: o.prediction.gen_tok_s.value or 0.01  # noqa: E731
        faster = next((o for o in ranked[1:limit] if _serves(o.facts, task) and speed(o) > 1.3 * speed(top)), None)
        if faster:
            cost = (f"a smaller model ({faster.facts.params_b:g}B against {top.facts.params_b:g}B), so less capable"
                    if faster.facts.params_b < top.facts.params_b else
                    f"at {faster.quant_type}, which loses more quality")
            rec.notes.append(f"On a CPU speed matters as much as fit: {faster.facts.name} {faster.quant_type} would "
                             f"generate about {speed(faster) / speed(top):.1f}x faster ({speed(faster):.0f} against "
                             f"{speed(top):.0f} tok/s), {cost}.")
        rec.notes.append(f"Memory kept free for the OS and other programs: {hw.ram_gb - hw.budget_gb:.1f} GB of {hw.ram_gb:g} GB.")
    return rec
