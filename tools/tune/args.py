"""A tune's arguments as plain JSON (the job queue's form): checked once, and run."""
from __future__ import annotations

from lqmf.tools.errors import InvalidInput
from lqmf.tools.progress import Progress, noop

DEFAULT_CHUNKS = 8


def check_tune_args(args: dict) -> dict:
    """Normalised arguments, or one sentence: model, gate (required), goal, use, chunks, methods, candidates."""
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.limits import Knob, check
    from lqmf.tools.models import resolve
    from lqmf.tools.tune.candidates import parse_candidate
    from lqmf.tools.tune.search import Goal

    if not args.get("model"):
        raise InvalidInput("a tune needs a model", "name one, e.g. smollm2")
    gate = parse_gate(args.get("gate"))
    if gate is None:
        raise InvalidInput("a tune needs a quality gate", 'give one, e.g. --gate "kld<0.05"')
    try:
        goal = Goal(args.get("goal") or Goal.SMALLEST)
    except ValueError:
        raise InvalidInput(f"unknown tune goal {args.get('goal')!r}",
                           "use one of " + ", ".join(g.value for g in Goal)) from None
    out: dict = {"model": str(args["model"]), "gate": gate.text, "goal": goal.value,
                 "chunks": check(Knob.CHUNKS, args.get("chunks") or DEFAULT_CHUNKS, "--chunks")}
    if args.get("use"):
        from lqmf.knowledge.calibration import check_name

        out["use"] = check_name(str(args["use"]))
    if args.get("methods"):
        out["methods"] = _methods(args["methods"])
    if args.get("candidates"):
        out["candidates"] = [parse_candidate(str(c)).key for c in args["candidates"]]
    if args.get("mixed"):
        out["mixed"] = True
    if args.get("parallel"):
        out["parallel"] = int(args["parallel"])
    if args.get("exhaustive"):
        out["exhaustive"] = True
    resolve(out["model"])
    return out


def _methods(values) -> list[str]:
    """The methods a tune mixes (gguf, bnb, gptq): each must have a backend that can build here."""
    from lqmf.tools.quantize.registry import current

    reg = current()
    names = [v.strip() for v in ([values] if isinstance(values, str) else values) for v in str(v).split(",")
             if v.strip()]
    out = []
    for n in names:
        m = reg.parse_method(n)
        backends = [b for b in reg.backends if b.method is m]
        if not any(b.build is not None for b in backends):
            raise InvalidInput(f"no {m.value} backend can quantize in this version",
                               "tune with --methods " + ",".join(sorted({b.method.value for b in reg.backends
                                                                          if b.build is not None})))
        for b in backends:
            b.check_ready()          # a missing extra: one sentence with the fix, before any trial
        if m.value not in out:
            out.append(m.value)
    return out


def candidates_of(args: dict) -> list:
    from lqmf.tools.tune.candidates import default_candidates, parse_candidate

    if args.get("candidates"):
        return [parse_candidate(c) for c in args["candidates"]]
    return default_candidates(args.get("use"), bool(args.get("mixed")), args.get("methods"))


def run_tune(args: dict, progress: Progress = noop, *, on_trial=None) -> dict:
    """Run a checked tune; its result as a dict (search result + trials measured now)."""
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.tune import tune

    args = check_tune_args(args)
    cands = candidates_of(args)
    count = {"n": 0}

    def announce(t) -> None:
        count["n"] += 1
        progress(f"trial {count['n']}: {t.candidate} {'passed' if t.passed else 'failed'}",
                 min(0.99, count["n"] / max(1, len(cands))))
        if on_trial:
            on_trial(t)

    gate = parse_gate(args["gate"])
    assert gate is not None  # check_tune_args requires one
    res, runner = tune(args["model"], gate, goal=args["goal"], candidates=cands,
                       chunks=args["chunks"], parallel=args.get("parallel"), progress=_quiet(progress),
                       on_trial=announce, exhaustive=bool(args.get("exhaustive")))
    progress("done", 1.0)
    return res.to_dict() | {"model": args["model"], "measured": runner.measured, "chunks": args["chunks"],
                            "best_record": res.best.record if res.best else None}


def _quiet(progress: Progress) -> Progress:
    """The trials' own progress, under the tune's stage name."""
    def inner(stage: str, frac: float | None) -> None:
        progress(f"trial: {stage}", None)
    return inner
