"""Benchmark: measure size, speed, perplexity and KL divergence now, or queue it."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import InvalidInput
from lqmf.tools.status import Status
from lqmf.copilot.app.audit import audited

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


def default_chunks() -> int:
    from lqmf.tools.benchmark.quality import DEFAULT_CHUNKS

    return int(DEFAULT_CHUNKS)


def check(target: str, types: list[str], *, chunks: int | None, ctx: int, threads: int | None,
          trust_remote_code: bool = False, queued: bool = False, method: str | None = None) -> None:
    """Bad input is one sentence before anything runs."""
    from lqmf.copilot.app.quantize import check_types

    if chunks is not None and chunks < 1:
        raise InvalidInput(f"--chunks must be at least 1, not {chunks}")
    check_types(types, method)
    if not queued:
        from lqmf.tools.benchmark import check_numbers

        check_numbers(target, ctx, chunks or default_chunks(), threads, trust_remote_code)


@audited("benchmark.now")
def benchmark(app: "App", target: str, types: list[str], *, chunks: int | None = None, ctx: int = 512,
              threads: int | None = None, base: str | None = None, speed: bool = True,
              trust_remote_code: bool = False, progress_for=None, gate: str | None = None,
              method: str | None = None, recipe: dict | None = None) -> list[Any]:
    """Benchmark the target (at each type, or as it is); returns the experiment records.
    ``gate``: a run that fails it is marked rejected (``record.gate_failed``).
    ``method`` only checks the types (each type has one backend). ``recipe``: how a missing
    artifact is quantized (GPTQ's options; ``quantize.recipe_of``)."""
    import contextlib

    from lqmf.copilot.app.gates import parse
    from lqmf.tools.benchmark import benchmark as engine

    g = parse(gate)

    chunks = chunks or default_chunks()
    check(target, types, chunks=chunks, ctx=ctx, threads=threads, trust_remote_code=trust_remote_code,
          method=method)
    records = []
    for t in _each(types):
        with (progress_for() if progress_for else contextlib.nullcontext(None)) as progress:
            records.append(engine(target, quant_type=t, chunks=chunks, ctx=ctx, threads=threads, base=base,
                                  speed=speed, progress=progress,
                                  trust_remote_code=trust_remote_code, gate=g, recipe=recipe or None).record)
    return records


@audited("benchmark.queue")
def queue(app: "App", target: str, types: list[str], *, chunks: int | None = None, ctx: int = 512,
          threads: int | None = None, trust_remote_code: bool = False, priority: str | None = None,
          not_before: str | None = None, gate: str | None = None, method: str | None = None) -> list[str]:
    """Queue one benchmark job per type (or one for the target as it is)."""
    from lqmf.copilot.app import jobs
    from lqmf.copilot.app.gates import parse

    check(target, types, chunks=chunks, ctx=ctx, threads=threads, queued=True, method=method)
    jobs.check_not_before(not_before)
    g = parse(gate)
    return jobs.submit(app, "benchmark", [{"target": target, "quant_type": t, "chunks": chunks, "ctx": ctx,
                                           "threads": threads, "trust_remote_code": trust_remote_code or None,
                                           "gate": g.text if g else None}
                                          for t in _each(types)], priority=priority, not_before=not_before)


@audited("benchmark.submit")
def submit_one(app: "App", *, model: str, quant_type: str | None = None, artifact: str | None = None,
               after_job: str | None = None, chunks: int | None = None) -> tuple[str, str | None]:
    """The chat's benchmark: one job for an artifact, or for what a quantize job makes.
    ``after_job``: that quantize job; unless it already succeeded and the artifact is
    known, the benchmark waits for it. Returns (job id, the job it waits for)."""
    from lqmf.copilot.app import jobs

    target: str | dict = artifact or model
    depends_on = None
    if after_job:
        row = jobs.get(app, after_job)
        if row is None or row.status is not Status.SUCCEEDED or not artifact:
            target, depends_on = {"from_job": after_job}, after_job
    args: dict[str, Any] = {"target": target, "quant_type": quant_type if not artifact else None}
    if chunks:
        args["chunks"] = chunks
    new_id = jobs.submit(app, "benchmark", [{k: v for k, v in args.items() if v}], depends_on=depends_on)[0]
    return new_id, depends_on


def _each(types: list[str]) -> list[str | None]:
    """The types to run, or one run of the target as it is."""
    return list(types) or [None]
