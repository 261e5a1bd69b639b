"""Where a user is in a tutorial, and how a step moves on: pure functions
over a serializable ``Progress`` (the REPL keeps it in the checkpointer, so a
tutorial resumes across sessions), plus ``gather`` to read the real state a
step's check is evaluated against.

    p = start(tutorial, now)
    out = check_step(p, tutorial, gather(since=p.step_started_at, events=…), now)
    out.move   # Move.NEXT / RETRY / FINISHED; out.message is what to tell the user
    p = out.progress

A step's check runs only when the user says they did it (or did anything
through the graph): on failure the message says what is missing and the
step's hint, and the step stays (retry). Steps after the current one whose
checks already pass (done ahead of time, or in an earlier session) are
passed over and named. ``skip`` moves on without a check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Sequence

from lqmf.tools.tutorial_checks import CheckKind, Event, State, evaluate
from lqmf.tools.tutorials import Step, Tutorial


class StepStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"


class Move(StrEnum):
    NEXT = "next"            # the step passed; the next one is current
    RETRY = "retry"          # the check failed; the same step again
    FINISHED = "finished"    # the last step passed or was skipped


@dataclass
class Progress:
    tutorial: str
    step: int = 0                                    # index of the current step
    status: dict[str, str] = field(default_factory=dict)    # step id -> StepStatus
    step_started_at: float = 0.0
    finished: bool = False

    def to_dict(self) -> dict:
        return {"tutorial": self.tutorial, "step": self.step, "status": dict(self.status),
                "step_started_at": self.step_started_at, "finished": self.finished}

    @classmethod
    def from_dict(cls, d: dict) -> "Progress":
        return cls(str(d["tutorial"]), int(d.get("step", 0)), dict(d.get("status", {})),
                   float(d.get("step_started_at", 0.0)), bool(d.get("finished", False)))

    def done_count(self) -> int:
        return sum(1 for s in self.status.values() if s == StepStatus.DONE)


@dataclass(frozen=True)
class Outcome:
    move: Move
    message: str
    progress: Progress


def start(t: Tutorial, now: float) -> Progress:
    return Progress(t.name, 0, {s.id: StepStatus.PENDING.value for s in t.steps}, now)


def prompt(t: Tutorial, p: Progress) -> str:
    """What the current step says: its text and the action to take."""
    if p.finished:
        return f"You have finished '{t.title}'."
    s = t.steps[p.step]
    head = f"[{t.title}, step {p.step + 1} of {len(t.steps)}] {s.text}"
    if s.check.kind is CheckKind.NONE or not s.action:
        return head if "'next'" in s.text else head + " (say 'next' to go on)"
    return f"{head}\nTry: {s.action}"


def check_step(p: Progress, t: Tutorial, state: State, now: float) -> Outcome:
    """Evaluate the current step against the real state and move on or not."""
    if p.finished:
        return Outcome(Move.FINISHED, f"You have finished '{t.title}'.", p)
    step = t.steps[p.step]
    res = evaluate(step.check, state)
    if not res.ok:
        hint = f" {step.hint}" if step.hint else ""
        return Outcome(Move.RETRY, f"Not yet: {res.detail}.{hint}", p)
    done = "" if step.check.kind is CheckKind.NONE else f"Done: {res.detail}. "
    return _advance(p, t, state, now, step, StepStatus.DONE, done)


def skip(p: Progress, t: Tutorial, now: float) -> Outcome:
    """Skip the current step without checking it."""
    if p.finished:
        return Outcome(Move.FINISHED, f"You have finished '{t.title}'.", p)
    step = t.steps[p.step]
    return _advance(p, t, State(since=now), now, step, StepStatus.SKIPPED, f"Skipped '{step.id}'. ")


# checks a step must see done in its own time: a reading step, and requests made since it
# began (one question must not pass three "ask something" steps at once)
_PER_STEP = (CheckKind.NONE, CheckKind.ASKED, CheckKind.QUERY_ASKED)


def _advance(p: Progress, t: Tutorial, state: State, now: float, step: Step, how: StepStatus,
             said: str) -> Outcome:
    status = dict(p.status)
    status[step.id] = how.value
    i = p.step + 1
    ahead: list[str] = []
    while i < len(t.steps):                     # steps already satisfied are passed over
        nxt = t.steps[i]
        if nxt.check.kind in _PER_STEP or nxt.check.get("fresh") or not evaluate(nxt.check, state).ok:
            break
        status[nxt.id] = StepStatus.DONE.value
        ahead.append(nxt.id)
        i += 1
    if ahead:
        said += f"Already done: {', '.join(ahead)}. "
    if i >= len(t.steps):
        q = Progress(p.tutorial, len(t.steps) - 1, status, now, True)
        return Outcome(Move.FINISHED, f"{said}That was the last step of '{t.title}'.".strip(), q)
    q = Progress(p.tutorial, i, status, now, False)
    return Outcome(Move.NEXT, (said + prompt(t, q)).strip(), q)


def overview(tutorials: dict[str, Tutorial], progress: dict[str, Progress]) -> list[tuple[str, str, str]]:
    """(name, title, progress text) per tutorial, for ``/tutorial``."""
    rows = []
    for name, t in tutorials.items():
        p = progress.get(name)
        if p is None:
            state = f"not started, {len(t.steps)} steps"
        elif p.finished:
            state = "finished"
        else:
            state = f"step {p.step + 1} of {len(t.steps)}"
        rows.append((name, t.title, state))
    return rows


def gather(since: float = 0.0, events: Sequence[Event] = (), job_limit: int = 200) -> State:
    """The real state: the journal's records, the newest jobs, and the artifact
    files that exist (under the data dir's artifacts/, or named by a record)."""
    from lqmf.tools.config import artifacts_dir
    from lqmf.tools.store.journal import journal
    from lqmf.tools.scheduler.store import JobStore

    records = journal().all()
    store = JobStore()
    try:
        jobs = store.list(newest_first=True, limit=job_limit)
    finally:
        store.close()
    root = artifacts_dir()
    files = {str(p) for p in root.rglob("*") if p.is_file() or (p / "config.json").is_file()}
    files |= {str(Path(r.artifact)) for r in records if r.artifact and Path(r.artifact).exists()}
    return State(records, jobs, sorted(files), tuple(events), since)
