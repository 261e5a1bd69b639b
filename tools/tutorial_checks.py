"""Tutorial step checks: declarative conditions on the real state, and one
pure function that evaluates them.

``evaluate(check, state)`` takes everything as inputs (store records, job
rows, artifact files that exist now, what the user asked during the step), so
the REPL can call it with the live state and tests can call it with built
state. It returns whether the step is done, and a sentence saying what was
found or what is still missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Mapping, Sequence

from lqmf.tools.errors import InvalidInput, LqmfError
from lqmf.tools.store.records import ExperimentRecord, RunKind, Status


class CheckKind(StrEnum):
    NONE = "none"                # a reading step: nothing to check
    ARTIFACT = "artifact"        # a quantized artifact exists on disk
    RECORD = "record"            # the store holds a run (quantize / benchmark)
    JOB = "job"                  # the job queue holds a job in some state
    QUERY_ASKED = "query_asked"  # the user asked about past runs (a query or a compare)
    ASKED = "asked"              # the user made a request of some intent (tune, explain, …)


class Via(StrEnum):
    TEXT = "text"
    VOICE = "voice"


QUERY_INTENTS = ("query", "compare")  # copilot.parser.schema.Intent values (a test checks)
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
JOB_KINDS = ("quantize", "benchmark", "noop", "sleep", "tune")
PRIORITIES = ("low", "normal", "high", "urgent")

# the fields each kind takes, with their types ("fresh": only things made since the step began)
CHECK_FIELDS: dict[CheckKind, dict[str, type]] = {
    CheckKind.NONE: {},
    CheckKind.ARTIFACT: {"quant_type": str, "model": str, "min_types": int, "fresh": bool},
    CheckKind.RECORD: {"run": str, "quant_type": str, "model": str, "exclude_model": str, "status": str,
                       "min_types": int, "measured": str, "fresh": bool},
    CheckKind.JOB: {"status": str, "job_kind": str, "priority": str, "fresh": bool},
    CheckKind.QUERY_ASKED: {"intent": str, "min_count": int},
    CheckKind.ASKED: {"intent": str, "via": str, "min_count": int},
}
MEASURES = ("kld_mean", "ppl", "top1_pct", "gen_tok_s", "prompt_tok_s", "peak_rss_mb", "load_s")


@dataclass(frozen=True)
class Check:
    kind: CheckKind
    params: dict = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def validate(self, where: str) -> None:
        """Values must be domain words: a quant type, a run kind, a job state…"""
        from lqmf.tools.quantize.types import parse_quant_type

        p = self.params

        def bad(key: str, allowed: Sequence[str]) -> InvalidInput:
            return InvalidInput(f"{where}: {self.kind.value} check has {key} = {p[key]!r}",
                                "use one of " + ", ".join(allowed))
        if "quant_type" in p:
            try:
                parse_quant_type(p["quant_type"])
            except LqmfError as e:
                raise InvalidInput(f"{where}: {e.message}", e.fix) from None
        if "run" in p and p["run"] not in {k.value for k in RunKind}:
            raise bad("run", [k.value for k in RunKind])
        if self.kind is CheckKind.RECORD and "status" in p and p["status"] not in {s.value for s in Status}:
            raise bad("status", [s.value for s in Status])
        if self.kind is CheckKind.JOB and "status" in p and p["status"] not in JOB_STATES:
            raise bad("status", JOB_STATES)
        if "job_kind" in p and p["job_kind"] not in JOB_KINDS:
            raise bad("job_kind", JOB_KINDS)
        if "priority" in p and p["priority"] not in PRIORITIES:
            raise bad("priority", PRIORITIES)
        if "via" in p and p["via"] not in {v.value for v in Via}:
            raise bad("via", [v.value for v in Via])
        if "measured" in p and p["measured"] not in MEASURES:
            raise bad("measured", MEASURES)
        if self.kind is CheckKind.QUERY_ASKED and "intent" in p and p["intent"] not in QUERY_INTENTS:
            raise bad("intent", QUERY_INTENTS)
        if self.kind is CheckKind.ASKED and "intent" not in p:
            raise InvalidInput(f"{where}: an asked check needs an intent", 'add intent = "…"')
        for key in ("min_types", "min_count"):
            if key in p and p[key] < 1:
                raise InvalidInput(f"{where}: {key} must be at least 1", f"set {key} = 1 or more")


@dataclass(frozen=True)
class Event:
    """One request the user made through the graph during the step."""

    intent: str
    slots: Mapping = field(default_factory=dict)
    via: str = Via.TEXT
    at: float = 0.0


@dataclass
class State:
    """The real state a check is evaluated against."""

    records: Sequence[ExperimentRecord] = ()
    jobs: Sequence[Any] = ()            # job rows (dicts or tools.scheduler.jobs.Job)
    artifacts: Sequence[str | Path] = ()  # artifact files / folders that exist now
    events: Sequence[Event] = ()        # requests made since the step began
    since: float = 0.0                  # when the step began (epoch seconds)


@dataclass(frozen=True)
class Result:
    ok: bool
    detail: str           # what was found, or what is still missing


def evaluate(check: Check, state: State) -> Result:
    return _EVALUATORS[check.kind](check, state)


# ---- the evaluators ---------------------------------------------------------
def _qt(check: Check) -> str | None:
    from lqmf.tools.quantize.types import parse_quant_type

    q = check.get("quant_type")
    return parse_quant_type(q).value if q else None


def _model_ok(check: Check, *names: str | None) -> bool:
    want = (check.get("model") or "").lower()
    return not want or any(n and (n.lower() == want or n.lower().startswith(want + ".")
                                  or Path(n).name.lower().startswith(want)) for n in names)


def _what(check: Check, noun: str) -> str:
    qt = _qt(check)
    model = check.get("model")
    return " ".join(x for x in (qt, noun, f"of {model}" if model else "") if x)


def _none(check: Check, state: State) -> Result:
    return Result(True, "nothing to check")


def _artifact(check: Check, state: State) -> Result:
    from lqmf.tools.quantize.types import quant_types

    qt = _qt(check)
    present = {str(Path(a)) for a in state.artifacts}
    types: set[str] = set()
    for a in present:                               # artifact files are named MODEL.QTYPE[.suffix]
        name = Path(a).name
        for t in quant_types():
            if (f".{t.value}." in name or name.endswith(f".{t.value}")) and _model_ok(check, name):
                types.add(t.value)
    for r in state.records:                          # or a quantize record whose artifact is still there
        if (r.kind == RunKind.QUANTIZE and r.status == Status.SUCCEEDED and r.artifact
                and str(Path(r.artifact)) in present and r.quant_type
                and _model_ok(check, r.model_name, r.model)
                and (not check.get("fresh") or r.created_at >= state.since)):
            types.add(r.quant_type)
    if check.get("fresh"):                           # files alone carry no time: fresh needs a record
        types = {r.quant_type for r in state.records if r.kind == RunKind.QUANTIZE
                 and r.status == Status.SUCCEEDED and r.created_at >= state.since and r.quant_type in types}
    need = check.get("min_types", 1)
    if qt:
        ok = qt in types
        return Result(ok, f"found the {_what(check, 'artifact')}" if ok
                      else f"there is no {_what(check, 'artifact')} yet")
    ok = len(types) >= need
    found = ", ".join(sorted(types)) or "none"
    return Result(ok, f"artifacts of {len(types)} quant type(s) ({found})"
                  + ("" if ok else f"; {need} are needed"))


def _record(check: Check, state: State) -> Result:
    qt = _qt(check)
    run = check.get("run", RunKind.BENCHMARK.value)
    status = check.get("status", Status.SUCCEEDED.value)
    measured = check.get("measured")
    rows = [r for r in state.records
            if r.kind == run and r.status == status and (not qt or r.quant_type == qt)
            and _model_ok(check, r.model_name, r.model)
            and not (check.get("exclude_model") and _model_ok(Check(CheckKind.RECORD, {"model": check.get("exclude_model")}),
                                                              r.model_name, r.model))
            and (not check.get("fresh") or r.created_at >= state.since)
            and (not measured or getattr(r, measured, None) is not None)]
    types = {r.quant_type for r in rows}
    need = check.get("min_types", 1)
    noun = f"{status} {run} run"
    if len(types) >= need and rows:
        return Result(True, f"found {len(rows)} {_what(check, noun)}(s)"
                      + (f" of {len(types)} quant types" if need > 1 else ""))
    if need > 1 and rows:
        return Result(False, f"{_what(check, noun)}s of {len(types)} quant type(s) so far; {need} are needed")
    return Result(False, f"there is no {_what(check, noun)}" + (" since this step began" if check.get("fresh") else "")
                  + " yet")


def _job_row(j: Any) -> dict:
    return j.to_dict() if hasattr(j, "to_dict") else dict(j)


def _job(check: Check, state: State) -> Result:
    rows = [_job_row(j) for j in state.jobs]
    want = check.get("status")
    kind = check.get("job_kind")
    prio = check.get("priority")
    hits = [j for j in rows
            if (not want or j.get("state") == want) and (not kind or j.get("kind") == kind)
            and (not prio or str(j.get("priority", "")).lower() == prio)
            and (not check.get("fresh") or (j.get("created_at") or 0) >= state.since)]
    what = " ".join(x for x in (prio, kind, "job") if x) + (f" that is {want}" if want else "")
    return Result(bool(hits), f"found a {what}" if hits else f"there is no {what} in the queue")


def _asked(check: Check, state: State, intents: tuple[str, ...]) -> Result:
    via = check.get("via")
    hits = [e for e in state.events if e.intent in intents and (not via or e.via == via)]
    need = check.get("min_count", 1)
    what = " or ".join(intents) + (" request" if len(intents) == 1 else " requests") + (f" by {via}" if via else "")
    if len(hits) >= need:
        return Result(True, f"you made {len(hits)} {what}")
    return Result(False, f"{need - len(hits)} more {what} needed" if hits else f"no {what} yet")


def _query_asked(check: Check, state: State) -> Result:
    return _asked(check, state, (check.get("intent"),) if check.get("intent") else QUERY_INTENTS)


def _asked_intent(check: Check, state: State) -> Result:
    return _asked(check, state, (check.get("intent"),))


_EVALUATORS = {
    CheckKind.NONE: _none,
    CheckKind.ARTIFACT: _artifact,
    CheckKind.RECORD: _record,
    CheckKind.JOB: _job,
    CheckKind.QUERY_ASKED: _query_asked,
    CheckKind.ASKED: _asked_intent,
}
assert set(_EVALUATORS) == set(CheckKind) == set(CHECK_FIELDS)
