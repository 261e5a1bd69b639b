"""The copilot's typed state.

``ChatInput`` is the narrow public input (one utterance). ``ChatState`` adds
the fields the nodes keep between turns; each field says what it holds and
fields that accumulate declare their reducer. Everything is plain JSON-able
data so the SqliteSaver checkpointer can store it.
"""
from __future__ import annotations

import operator
from enum import StrEnum
from typing import Annotated, Any, TypedDict

from lqmf.copilot.parser.schema import Intent as ParserIntent


# What the user wants: the parse contract's intents (copilot/parser/schema.py)
# plus three of the copilot's own: PICK, a reference into the last listing
# ("the second one"), TICK, a sync turn when a job finished (no user text), and
# MODELS, what is on this machine ("what models do I have here?"; the parser reads it as a query).
# Spelled out so a type checker sees the members; the assertion below holds it to the parser's.
class Intent(StrEnum):
    QUANTIZE = "quantize"
    TUNE = "tune"
    BENCHMARK = "benchmark"
    COMPARE = "compare"
    QUERY = "query"
    RECOMMEND = "recommend"
    JOBS = "jobs"
    CANCEL = "cancel"
    EXPLAIN = "explain"
    TUTORIAL = "tutorial"
    HELP = "help"
    UNKNOWN = "unknown"
    PICK = "pick"
    TICK = "tick"
    MODELS = "models"


assert {(i.name, i.value) for i in Intent} == {(i.name, i.value) for i in ParserIntent} | {
    ("PICK", "pick"), ("TICK", "tick"), ("MODELS", "models")}, "copilot Intent = the parser's intents + PICK, TICK, MODELS"


class AskResult(StrEnum):
    """What the user's answer to a question did."""

    ANSWERED = "answered"      # a slot was filled or changed: plan again
    CONFIRMED = "confirmed"    # yes to the plan: act
    DROPPED = "dropped"        # no / never mind: say so
    REDIRECT = "redirect"      # a new request instead: understand it


class ToolName(StrEnum):
    """The tools a plan's steps call (``tools_registry.TOOLS`` has one per name)."""

    QUANTIZE = "quantize"
    BENCHMARK = "benchmark"
    QUERY = "query"
    COMPARE = "compare"
    RECOMMEND = "recommend"
    JOBS = "jobs"
    CANCEL = "cancel"
    EXPLAIN = "explain"
    HELP = "help"
    MODELS = "models"
    TUNE = "tune"


class Step(TypedDict, total=False):
    """One tool call of a plan."""

    id: str            # unique within the conversation ("s7")
    tool: ToolName
    args: dict         # keyword arguments for the tool
    label: str         # one line shown to the user
    expensive: bool    # needs a confirmation before it runs
    after: list[str]   # ids of steps whose jobs must succeed first (their artifacts feed this step)


class Question(TypedDict, total=False):
    """The one thing ``ask`` is waiting for."""

    slot: str          # a slot name, or "confirm"
    prompt: str        # the sentence shown
    choices: list[str]
    labels: list[str]  # what each choice is, in words ("quantize smollm2 Q4_0"), when the choice is an id
    default: str | None
    replan: bool       # "confirm" of an unsure reading whose plan had a problem: plan again once confirmed


class Tracked(TypedDict, total=False):
    """A scheduler job this conversation submitted, and what it produced."""

    job_id: str
    step_id: str
    tool: str
    model: str
    quant_type: str | None
    status: str        # the scheduler's status, refreshed by ``sync``
    artifact: str | None
    announced: bool


class Request(TypedDict, total=False):
    """The request being built over the turns of one task: the intent, the parse
    contract's slots (copilot/parser/schema.py) and the copilot's extras
    (``nodes/resolve.EXTRAS``)."""

    intent: str
    model: str
    quant_type: str
    quant_types: list[str]
    bits: int
    method: str
    methods: list[str]
    priority: str
    device: str
    task: str
    job_id: str
    status: str
    topic: str
    sort: str
    order: str
    limit: int
    max_kld: float
    max_size_gb: float
    max_ppl_delta_pct: float
    vram_gb: float
    ram_gb: float
    min_tok_s: float
    since_days: float
    # extras of the copilot (not the parser's)
    revise: bool
    ref: str
    and_benchmark: bool
    affirm: bool
    deny: bool
    pick: int
    model_from_focus: bool
    replace_jobs: list[str]
    unsure: bool
    chitchat: str
    bad_types: list[str]
    same: bool
    recipe: dict[str, str]   # GPTQ's options or an importance matrix (nodes/recipe_words.py)
    start_with: str          # "let's start with q4_k_s" of several types named
    deferred: list[str]      # the types put off by it ("now the other one")


class BatchItem(TypedDict, total=False):
    """One quantize job of the last batch ("benchmark them")."""

    model: str
    quant_type: str | None
    job_id: str
    artifact: str | None


class Focus(TypedDict, total=False):
    """What "it" and "them" refer to."""

    model: str | None
    quant_type: str | None
    method: str | None
    artifact: str | None
    job_id: str | None
    batch: list[BatchItem]
    batch_jobs: list[str]
    last_request: Request
    """The last task (quantize/benchmark/tune), for "now do Q8_0"."""
    last_question: Request
    """The last query or recommendation, for "actually make it 8GB"."""


class GoalLimits(TypedDict, total=False):
    """What a tune run must meet: the smallest candidate within every limit given."""

    max_kld: float
    max_ppl_delta_pct: float
    max_size_gb: float


class Goal(GoalLimits, total=False):
    """A tune goal being watched: its limits, the benchmark jobs of its candidates,
    and whether its answer was given."""

    jobs: list[str]
    announced: bool


def merge_dict(old: dict | None, new: dict | None) -> dict:
    """Reducer: keys of ``new`` overwrite; ``None`` in new (the whole value) clears."""
    if new is None:
        return {}
    return {**(old or {}), **new}


def upsert_tracked(old: list[Tracked] | None, new: list[Tracked] | None) -> list[Tracked]:
    """Reducer: update tracked jobs by job id, append new ones, keep order."""
    out: list[Tracked] = [Tracked(**t) for t in (old or [])]
    index = {t["job_id"]: i for i, t in enumerate(out)}
    for t in new or []:
        i = index.get(t["job_id"])
        if i is None:
            index[t["job_id"]] = len(out)
            out.append(Tracked(**t))
        else:
            out[i].update(t)
    return out


RESET: dict = {"kind": "reset"}
"""First block of a turn's first node: starts the turn's output afresh."""


def turn_blocks(old: list[dict] | None, new: list[dict] | None) -> list[dict]:
    """Reducer: append this turn's blocks; a leading ``RESET`` drops the last turn's."""
    new = new or []
    if new and new[0].get("kind") == "reset":
        return list(new[1:])
    return (old or []) + new


def keep_last(n: int):
    """Reducer factory: append, keep the last ``n`` items."""
    def reduce(old: list | None, new: list | None) -> list:
        return ((old or []) + (new or []))[-n:]
    return reduce


class ChatInput(TypedDict, total=False):
    """The public input of one turn."""

    text: str
    """What the user typed (already cleaned of control characters)."""
    via: str
    """How it came: "text" (typed) or "voice" (a transcript); tutorial checks read it."""


class ChatState(ChatInput, total=False):
    intent: str
    """The ``Intent`` of this turn's text."""
    slots: dict
    """This turn's slots, as the parser gave them (plus copilot extras such as ``pick``)."""
    request: Annotated[Request, merge_dict]
    """The request being built: ``intent`` plus slots merged over the turns of one task;
    cleared (``None``) when the task is done or dropped."""
    focus: Annotated[Focus, merge_dict]
    """What "it" refers to: the last model, quant_type, method, artifact and job."""
    plan: list[Step]
    """The steps planned for the current request, shown before they run."""
    plan_goal: GoalLimits | None
    """The tune goal of the current plan (None when the plan has none); ``act`` turns it
    into ``goal`` with the plan's benchmark jobs."""
    goal: Goal | None
    """The tune goal being watched; ``sync`` answers it when its jobs are done."""
    question: Question | None
    """The question ``ask`` will put to the user, or None when nothing is missing."""
    parked: dict | None
    """A question set aside for a quick answer ("what's Q5_K_M?" while it waits): its
    ``question``, ``request`` and ``plan``, put back by ``unpark`` after the answer."""
    confirmed: bool
    """True once the user said yes to the current plan."""
    tracked: Annotated[list[Tracked], upsert_tracked]
    """Every scheduler job this conversation submitted, with its last known status."""
    listing: list[dict]
    """The rows last shown (query results, jobs), for "the second one"."""
    out: Annotated[list[dict], turn_blocks]
    """This turn's output blocks (text/table/warn/error); the REPL prints each node's as it lands."""
    ask_result: str
    """How the last answer to a question went: an ``AskResult`` (routes after ``ask``)."""
    calls: Annotated[list[dict], keep_last(200)]
    """Tool calls made, ``{"tool", "args"}``, for the transcript, tests and the eval."""
    history: Annotated[list[dict], keep_last(200)]
    """``{"role": "user"|"copilot", "text"}`` lines for /history."""
    said: Annotated[list[str], operator.add]
    """One-time notices already given (e.g. "no LLM configured")."""
    step_seq: int
    """Counter for step ids."""
    tutorial: Annotated[dict, merge_dict]
    """Guided tutorials (copilot/tutoring.py): ``active`` (a tutorial name or None),
    ``progress`` (name -> tools.tutorial_progress.Progress dict) and ``events`` (the
    requests made since the current step began). Kept here so the checkpointer
    saves it with the turn and ``lqmf chat --resume`` continues the tutorial."""


def blocks(*items: dict) -> dict[str, Any]:
    """A partial update carrying output blocks."""
    return {"out": list(items)}
