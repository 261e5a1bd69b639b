"""Every tool the copilot can call, in one explicit registry keyed by
``ToolName``. A tool is a typed function whose docstring is its description;
it calls only the application layer (``lqmf.copilot.app``) and returns a
``ToolOutcome``: the blocks to show, its data, and its own effects on the
conversation (jobs to track, what "it" now refers to, the rows to pick from),
which ``act`` applies without knowing the tool. Long tools (quantize,
benchmark) only submit a scheduler job and return at once."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lqmf.copilot import render
from lqmf.copilot.app.types import Status
from lqmf.copilot.state import BatchItem, Focus, Step, ToolName, Tracked
from lqmf.tools.errors import InvalidInput

if TYPE_CHECKING:
    from lqmf.copilot.app import App

__all__ = ["LONG", "REGISTRY", "TOOLS", "Tool", "ToolContext", "ToolName", "ToolOutcome", "call", "describe"]


@dataclass
class ToolContext:
    """What a tool sees besides its arguments: the application layer, the step it
    runs for, and the jobs this conversation tracks."""

    app: "App"
    step: Step | None = None
    tracked: list[Tracked] = field(default_factory=list)


@dataclass
class ToolOutcome:
    blocks: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    # effects on the conversation state (``act`` applies them in step order)
    tracked: list[Tracked] = field(default_factory=list)
    """Jobs to track (new ones carry ``tool``; they are journaled at once) or updates to tracked ones."""
    focus: Focus = field(default_factory=dict)  # type: ignore[assignment]
    """What "it" refers to from now on (merged over the focus)."""
    batch: list[BatchItem] = field(default_factory=list)
    """Items of this turn's batch ("benchmark them")."""
    listing: list[dict] | None = None
    """The rows shown, for "the second one"."""


def _step_id(ctx: ToolContext) -> str:
    return (ctx.step or {}).get("id", "")


def quantize(ctx: ToolContext, model: str, quant_type: str, method: str | None = None,
             priority: str | None = None, recipe: dict[str, str] | None = None) -> ToolOutcome:
    """Submit a job that makes a quantized copy of a model (a scheduler job; returns at once).
    ``recipe``: GPTQ's group_size/desc_act/calibration or a GGUF imatrix (strings)."""
    from lqmf.copilot.app import quantize as q

    job_id = q.submit_one(ctx.app, model, quant_type, method=method, priority=priority, recipe=recipe)
    t: Tracked = {"job_id": job_id, "step_id": _step_id(ctx), "tool": ToolName.QUANTIZE.value, "model": model,
                  "quant_type": quant_type, "status": Status.QUEUED.value, "announced": False}
    item: BatchItem = {"model": model, "quant_type": quant_type, "job_id": job_id}
    return ToolOutcome([render.text(f"Submitted job {job_id}: quantize {model} to {quant_type}.")],
                       {"job_id": job_id}, tracked=[t], focus={**item, "artifact": None}, batch=[item])


def tune(ctx: ToolContext, model: str, gate: str, goal: str | None = None, use: str | None = None,
         methods: list[str] | None = None) -> ToolOutcome:
    """Submit a tune job: the smallest (or fastest) quant of a model that passes a quality gate,
    found with few quantize + benchmark trials (a scheduler job; returns at once).
    ``methods``: the quantization methods to try (gguf, bnb, gptq; default gguf)."""
    from lqmf.copilot.app import tune as t
    from lqmf.copilot.settings import load

    job_id = t.queue(ctx.app, model, gate, goal=goal, use=use, chunks=load().bench_chunks or None, methods=methods)
    tr: Tracked = {"job_id": job_id, "step_id": _step_id(ctx), "tool": ToolName.TUNE.value, "model": model,
                   "status": Status.QUEUED.value, "announced": False}
    return ToolOutcome([render.text(f"Submitted job {job_id}: tune {model} for the smallest quant that passes "
                                    f"{gate}; each trial is recorded, and the answer comes when it is done.")],
                       {"job_id": job_id}, tracked=[tr], focus={"model": model, "job_id": job_id})


def benchmark(ctx: ToolContext, model: str, quant_type: str | None = None, artifact: str | None = None,
              job_id: str | None = None) -> ToolOutcome:
    """Submit a job that measures speed, size and quality of a model or artifact.
    ``job_id``: the quantize job that makes the artifact (the benchmark waits for it)."""
    from lqmf.copilot.app import benchmark as b
    from lqmf.copilot.settings import load

    new_id, depends_on = b.submit_one(ctx.app, model=model, quant_type=quant_type, artifact=artifact,
                                      after_job=job_id, chunks=load().bench_chunks or None)
    what = " ".join(x for x in (model, quant_type) if x)
    after = f" (after job {depends_on})" if depends_on else ""
    t: Tracked = {"job_id": new_id, "step_id": _step_id(ctx), "tool": ToolName.BENCHMARK.value, "model": model,
                  "quant_type": quant_type, "status": Status.QUEUED.value, "announced": False}
    return ToolOutcome([render.text(f"Submitted job {new_id}: benchmark {what}{after}.")], {"job_id": new_id},
                       tracked=[t])


def query(ctx: ToolContext, view: str | None = None, year: int | None = None, **slots) -> ToolOutcome:
    """Search past experiments (filter, sort, limit) and show them as a table.
    ``view="models"``: one row per artifact with its runs merged (failures left out unless a
    status is asked for); ``year``: a calendar year the user named."""
    from lqmf.copilot.app import query as q

    models = view == "models" and slots.get("status") in (None, Status.SUCCEEDED.value)
    if models:
        rows, notes = q.models_rows(ctx.app, {**slots, **({"limit": 10_000} if year else {})})
    else:
        rows, note = q.rows(ctx.app, {**slots, **({"limit": 10_000} if year else {})})
        notes = [note] if note and not rows else []
        if slots.get("sort") in ("speed", "quality"):
            rows, missing = q.rank(rows, slots["sort"], slots.get("order"), None)
            left = q.unranked_note([r for r in missing if r.get("kind") == "benchmark"], slots["sort"], "benchmark run")
            notes += [left] if left else []
            warn = q.settings_note(rows, slots["sort"])
            notes += [warn] if warn else []
    if year:
        rows = q.in_year(rows, year)[: slots.get("limit") or None]
        if not rows:
            return ToolOutcome([render.text(q.year_note(ctx.app, year))], {"rows": []})
    out = [render.text(n) for n in notes]
    if not rows and models and not {k for k, v in slots.items() if v not in (None, "", []) and k != "intent"}:
        # nothing made yet: say what is here to start from
        from lqmf.copilot.app.models import bundled

        here = bundled()
        out = [render.text("No quantized models yet. " + (
            f"On this machine: {', '.join(here)} (bundled); say 'quantize {here[0]} to Q4_K_M' to make one."
            if here else "Say 'what models are on this machine' to see the sources."))]
    if not rows:
        return ToolOutcome(out or [render.text("No experiments match; quantize or benchmark a model first.")],
                           {"rows": []})
    out.insert(0, render.models_table(rows) if models else render.records_table(rows, "Experiments"))
    return ToolOutcome(out, {"rows": rows}, listing=rows)


def _comparison_block(comparison, title: str) -> dict:
    """The comparison as a table: one row per metric, deltas against the first run."""
    heads = [f"{r.model_name or r.model} {r.quant_type or ''}".strip() for r in comparison.records]
    body = []
    for row in comparison.rows:
        m = row[0].metric
        cells = []
        for d in row:
            text = "" if d.value is None else render._size(d.value) if m.fmt == "bytes" else m.fmt.format(d.value)
            if d.pct is not None:
                text += f" ({d.pct:+.1f}%{', ' + d.verdict if d.verdict in ('better', 'worse') else ''})"
            cells.append(text)
        body.append([f"{m.label} ({'↑' if m.better.value == 'higher' else '↓'})", *cells])
    return render.table(title, ["", *heads], body)


def compare(ctx: ToolContext, model: str | None = None, quant_types: list[str] | None = None,
            methods: list[str] | None = None) -> ToolOutcome:
    """Compare the latest results of two or more quant types side by side (deltas against the first)."""
    from lqmf.copilot.app.compare import MEASURED, against_original, compare_latest

    latest = compare_latest(ctx.app, model, quant_types, methods)
    found = latest.rows
    from lqmf.copilot.app.query import settings_note

    if latest.comparison is None and len(found) == 1 and any(found[0].get(k) is not None for k in MEASURED):
        return ToolOutcome([render.text(against_original(found[0]))], {"rows": found}, listing=found)
    if latest.comparison is None:
        want = " and ".join(quant_types or []) or "two quant types"
        return ToolOutcome([render.text(f"I need finished results for {want}"
                                        f"{' of ' + model if model else ''} to compare; "
                                        f"I found {len(found)}.")], {"rows": found}, listing=found or None)
    warn = settings_note(found, None)
    return ToolOutcome([_comparison_block(latest.comparison, "Comparison (against the first)"),
                        *([render.text(warn)] if warn else [])], {"rows": found}, listing=found)


def recommend(ctx: ToolContext, **slots) -> ToolOutcome:
    """Suggest a model and quant type for a need (task, memory, device)."""
    from lqmf.copilot.app.explain import recommend as advise

    blocks, rows = advise(ctx.app, slots)
    return ToolOutcome(blocks, {"rows": rows}, listing=rows or None)


def jobs(ctx: ToolContext, status: str | None = None, job_id: str | None = None) -> ToolOutcome:
    """Show the job queue, or one job's progress."""
    from lqmf.copilot.app import jobs as app_jobs

    if job_id:
        view = app_jobs.get(ctx.app, job_id)
        if view is None:
            return ToolOutcome([render.text(f"There is no job {job_id}; say 'jobs' to list them.")])
        rows = [view.row()]
    else:
        rows = [v.row() for v in app_jobs.list_jobs(ctx.app, [status] if status else None)]
    if not rows:
        return ToolOutcome([render.text("No jobs" + (f" {status}" if status else "") + ".")], {"rows": []})
    return ToolOutcome([render.jobs_table(rows)], {"rows": rows}, listing=rows)


def cancel(ctx: ToolContext, job_id: str) -> ToolOutcome:
    """Cancel a queued or running job."""
    from lqmf.copilot.app import jobs as app_jobs
    from lqmf.copilot.nodes import job_refs

    view = app_jobs.get(ctx.app, job_id)
    if view is None:
        raise InvalidInput(f"there is no job {job_id}", "say 'jobs' to see the job ids")
    if view.done:
        return ToolOutcome([render.text(f"Job {job_id} already {view.status.value}.")], {"job": view.row()})
    view = app_jobs.cancel(ctx.app, job_id)
    mine = [t for t in ctx.tracked if t.get("job_id") == job_id]
    ours = bool(mine)
    what = job_refs.label(mine[0]) if mine else view.what
    return ToolOutcome([render.text(f"Cancelled job {job_id} ({what}).")], {"job": view.row()},
                       tracked=[{"job_id": job_id, "status": Status.CANCELLED.value, "announced": True}] if ours else [])


def explain(ctx: ToolContext, topic: str | None = None, question: str | None = None,
            unmeasured: list[str] | None = None) -> ToolOutcome:
    """Explain a concept (quant types, GGUF, GPTQ, NF4, KL divergence, perplexity...).
    ``question``: the user's whole utterance, which retrieval reads (``topic`` is the parser's slot).
    ``unmeasured``: types a comparison asked about that have no results here yet (said after the answer)."""
    from lqmf.copilot.app.explain import explain as ex

    blocks = [render.text(ex(ctx.app, topic, question=question))]
    if unmeasured:
        blocks.append(render.text(f"You have no measured results of {' and '.join(unmeasured)} yet; quantize and "
                                  "benchmark them to see the difference on your own model and machine."))
    return ToolOutcome(blocks)


def help(ctx: ToolContext) -> ToolOutcome:  # noqa: A001 - the tool's name
    """What the copilot can do, with examples."""
    from lqmf.copilot.app.explain import help_text

    return ToolOutcome([render.text(help_text())])


def models(ctx: ToolContext) -> ToolOutcome:
    """The models on this machine (bundled ones first, then the Hugging Face cache and the
    converted copies), the artifacts made so far, and how many more the catalog knows."""
    from lqmf.copilot.app import query as q
    from lqmf.copilot.app.models import catalog, inventory
    from lqmf.copilot.app.types import human_bytes

    inv = inventory(ctx.app)
    blocks = [render.table("Models on this machine", ["name", "source", "size"],
                           [[s["name"], s["kind"], human_bytes(s["size_bytes"])] for s in inv["sources"]])]
    # the ones made: one row per artifact, its runs merged, failures left out (the query's models view)
    made, notes = q.models_rows(ctx.app, {})
    if made:
        blocks += [render.models_table(made), *(render.text(n) for n in notes)]
    else:
        blocks.append(render.text("No quantized models made yet; say 'quantize smollm2 to Q4_K_M' to make one."))
    if inv["bundled_not_installed"]:
        blocks.append(render.text("Bundled but not installed: " + "; ".join(inv["bundled_not_installed"]) + "."))
    here = {s["name"] for s in inv["sources"]}
    more = [e["name"] for e in catalog() if e["name"] not in here]
    if more:
        blocks.append(render.text(f"{len(more)} more models are in the catalog (e.g. {', '.join(more[:3])}); "
                                  "they need fetching first: ask me to recommend one for your hardware."))
    return ToolOutcome(blocks, {"rows": made}, listing=made or None)


@dataclass(frozen=True)
class Tool:
    """A tool and what ``act`` and ``plan`` need to know about it."""

    fn: Callable[..., ToolOutcome]
    long: bool = False
    """Submits a scheduler job (the conversation goes on; the plan asks first)."""
    measures: bool = False
    """Its jobs produce measurements (a tune goal watches them)."""
    upstream_job_arg: str | None = None
    """The argument that receives the job id of the step it runs after."""


TOOLS: dict[ToolName, Tool] = {
    ToolName.QUANTIZE: Tool(quantize, long=True),
    ToolName.BENCHMARK: Tool(benchmark, long=True, measures=True, upstream_job_arg="job_id"),
    ToolName.QUERY: Tool(query),
    ToolName.COMPARE: Tool(compare),
    ToolName.RECOMMEND: Tool(recommend),
    ToolName.JOBS: Tool(jobs),
    ToolName.CANCEL: Tool(cancel),
    ToolName.EXPLAIN: Tool(explain),
    ToolName.HELP: Tool(help),
    ToolName.MODELS: Tool(models),
    ToolName.TUNE: Tool(tune, long=True),
}
assert set(TOOLS) == set(ToolName), "every ToolName needs a tool"

REGISTRY: dict[ToolName, Callable[..., ToolOutcome]] = {name: t.fn for name, t in TOOLS.items()}
LONG = frozenset(name for name, t in TOOLS.items() if t.long)


def describe() -> dict[str, str]:
    """Tool name -> first line of its docstring (for help and an LLM's tool list)."""
    return {name.value: (fn.__doc__ or "").strip().splitlines()[0] for name, fn in REGISTRY.items()}


def call(name: str, args: dict, ctx: ToolContext) -> ToolOutcome:
    """Run one tool; timing goes into ``data['elapsed_s']``."""
    t = time.perf_counter()
    outcome = REGISTRY[ToolName(name)](ctx, **args)
    outcome.data.setdefault("elapsed_s", round(time.perf_counter() - t, 4))
    return outcome
