"""Every tool the copilot can call, in one explicit registry keyed by
``ToolName``. A tool is a typed function whose docstring is its description;
it returns a ``ToolOutcome`` (blocks to show, data for the state). Long tools
(quantize, benchmark) only submit a scheduler job and return at once."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from lqmf.copilot import backends, render
from lqmf.tools.errors import InvalidInput


class ToolName(StrEnum):
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


LONG = frozenset({ToolName.QUANTIZE, ToolName.BENCHMARK})


@dataclass
class ToolOutcome:
    blocks: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)


def quantize(model: str, quant_type: str, method: str | None = None, priority: str | None = None) -> ToolOutcome:
    """Submit a job that makes a quantized copy of a model (a scheduler job; returns at once)."""
    args = {k: v for k, v in {"model": model, "quant_type": quant_type, "method": method}.items() if v}
    job_id = backends.submit("quantize", args, priority=priority)
    return ToolOutcome([render.text(f"Submitted job {job_id}: quantize {model} to {quant_type}.")],
                       {"job_id": job_id})


def benchmark(model: str, quant_type: str | None = None, artifact: str | None = None,
              job_id: str | None = None) -> ToolOutcome:
    """Submit a job that measures speed, size and quality of a model or artifact.
    ``job_id``: the quantize job that makes the artifact (the benchmark waits for it)."""
    from lqmf.copilot.settings import load

    target: str | dict = artifact or model
    depends_on = None
    if job_id:
        row = backends.get_job(job_id)
        if row is None or row["status"] != "succeeded" or not artifact:
            target, depends_on = {"from_job": job_id}, job_id
    args: dict = {"target": target, "quant_type": quant_type if not artifact else None}
    if load().bench_chunks:
        args["chunks"] = load().bench_chunks
    new_id = backends.submit("benchmark", {k: v for k, v in args.items() if v}, depends_on=depends_on)
    what = " ".join(x for x in (model, quant_type) if x)
    after = f" (after job {depends_on})" if depends_on else ""
    return ToolOutcome([render.text(f"Submitted job {new_id}: benchmark {what}{after}.")], {"job_id": new_id})


def query(**slots) -> ToolOutcome:
    """Search past experiments (filter, sort, limit) and show them as a table."""
    rows, note = backends.query(slots)
    out = [render.text(note)] if note else []
    if not rows:
        return ToolOutcome(out or [render.text("No experiments match; quantize or benchmark a model first.")],
                           {"rows": []})
    out.append(render.records_table(rows, "Experiments"))
    return ToolOutcome(out, {"rows": rows})


def compare(model: str | None = None, quant_types: list[str] | None = None,
            methods: list[str] | None = None) -> ToolOutcome:
    """Compare the latest results of two or more quant types side by side."""
    rows = [r for r in backends.records() if r.get("status") == "succeeded"]
    if model:
        rows = [r for r in rows if model in (r.get("model"), r.get("model_name"))]
    if quant_types:
        rows = [r for r in rows if (r.get("quant_type") or "").upper() in quant_types]
    if methods:
        rows = [r for r in rows if r.get("method") in methods]
    latest: dict[tuple, dict] = {}
    for r in sorted(rows, key=lambda r: r.get("created_at") or 0):
        key = (r.get("model_name") or r.get("model"), r.get("quant_type"))
        merged = {**latest.get(key, {}), **{k: v for k, v in r.items() if v not in (None, [], {})}}
        latest[key] = merged
    found = list(latest.values())
    if len(found) < 2:
        want = " and ".join(quant_types or []) or "two quant types"
        return ToolOutcome([render.text(f"I need finished results for {want}"
                                        f"{' of ' + model if model else ''} to compare; "
                                        f"I found {len(found)}.")], {"rows": found})
    return ToolOutcome([render.records_table(found, "Comparison")], {"rows": found})


def recommend(**slots) -> ToolOutcome:
    """Suggest a model and quant type for a need (task, memory, device)."""
    from lqmf.copilot import advice

    return ToolOutcome(advice.recommend(slots))


def jobs(status: str | None = None, job_id: str | None = None) -> ToolOutcome:
    """Show the job queue, or one job's progress."""
    if job_id:
        row = backends.get_job(job_id)
        if row is None:
            return ToolOutcome([render.text(f"There is no job {job_id}; say 'jobs' to list them.")])
        rows = [row]
    else:
        rows = backends.list_jobs()
        if status:
            rows = [r for r in rows if r["status"] == status]
    if not rows:
        return ToolOutcome([render.text("No jobs" + (f" {status}" if status else "") + ".")], {"rows": []})
    return ToolOutcome([render.jobs_table(rows)], {"rows": rows})


def cancel(job_id: str) -> ToolOutcome:
    """Cancel a queued or running job."""
    row = backends.get_job(job_id)
    if row is None:
        raise InvalidInput(f"there is no job {job_id}", "say 'jobs' to see the job ids")
    if row["status"] in backends.FINAL:
        return ToolOutcome([render.text(f"Job {job_id} already {row['status']}.")], {"job": row})
    row = backends.cancel_job(job_id) or row
    return ToolOutcome([render.text(f"Cancelled job {job_id} ({row['kind']}).")], {"job": row})


def explain(topic: str | None = None, question: str | None = None) -> ToolOutcome:
    """Explain a concept (quant types, GGUF, GPTQ, NF4, KL divergence, perplexity...).
    ``question``: the user's whole utterance, which retrieval reads (``topic`` is the parser's slot)."""
    from lqmf.copilot import explain as ex

    return ToolOutcome([render.text(ex.explain(topic, question=question))])


def help() -> ToolOutcome:  # noqa: A001 - the tool's name
    """What the copilot can do, with examples."""
    from lqmf.copilot import explain as ex

    return ToolOutcome([render.text(ex.HELP)])


def models() -> ToolOutcome:
    """The models LQMF knows (bundled ones first) and artifacts made so far."""
    from lqmf import knowledge

    rows = [[e["name"], e.get("title", ""), f"{e.get('params_b', '?')}B",
             "bundled" if e.get("bundled") else "hub cache"] for e in knowledge.catalog()]
    rows.sort(key=lambda r: r[3] != "bundled")
    return ToolOutcome([render.table("Models", ["name", "title", "params", "source"], rows)])


REGISTRY: dict[ToolName, Callable[..., ToolOutcome]] = {
    ToolName.QUANTIZE: quantize,
    ToolName.BENCHMARK: benchmark,
    ToolName.QUERY: query,
    ToolName.COMPARE: compare,
    ToolName.RECOMMEND: recommend,
    ToolName.JOBS: jobs,
    ToolName.CANCEL: cancel,
    ToolName.EXPLAIN: explain,
    ToolName.HELP: help,
    ToolName.MODELS: models,
}
assert set(REGISTRY) == set(ToolName), "every ToolName needs a tool"


def describe() -> dict[str, str]:
    """Tool name -> first line of its docstring (for help and an LLM's tool list)."""
    return {name.value: (fn.__doc__ or "").strip().splitlines()[0] for name, fn in REGISTRY.items()}


def call(name: str, args: dict) -> ToolOutcome:
    """Run one tool; timing goes into ``data['elapsed_s']``."""
    t = time.perf_counter()
    outcome = REGISTRY[ToolName(name)](**args)
    outcome.data.setdefault("elapsed_s", round(time.perf_counter() - t, 4))
    return outcome
