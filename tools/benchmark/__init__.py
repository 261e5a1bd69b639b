"""Benchmark a GGUF artifact (or a model + quant type): size, load time, peak
RSS, prompt/generation tokens/s, perplexity, and KL divergence / top-1
agreement against the F16 baseline of the same model on the same tokens."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lqmf.tools.errors import InvalidInput
from lqmf.tools.formats import read_gguf
from lqmf.tools.progress import Progress, noop
from lqmf.tools.store.records import ExperimentRecord, RecordStore, RunKind, Status, recorded_run, tool_versions
from lqmf.tools.store.journal import journal

from lqmf.tools.benchmark.quality import DEFAULT_CHUNKS, DEFAULT_CTX, Baseline, baseline, measure
from lqmf.tools.benchmark.scorer import check_ctx


@dataclass
class BenchResult:
    record: ExperimentRecord


def _target(target: str, quant_type: str | None, progress: Progress,
            trust_remote_code: bool = False) -> tuple[Path, dict]:
    """The GGUF to measure and what we know of its lineage (sidecar facts)."""
    from lqmf.tools.quantize import quantize, read_sidecar

    path = Path(target).expanduser()
    if path.is_file():
        read_gguf(path)
        facts = read_sidecar(path) or {}
        if quant_type:  # allowed when it names what the artifact is
            from lqmf.tools.quantize import resolve_type

            want = resolve_type(quant_type, None)[0].value
            if facts.get("quant_type") != want:
                raise InvalidInput(f"{path.name} is {facts.get('quant_type') or 'not an lqmf artifact'}, not {want}",
                                   "drop --type, or pass the model name to benchmark it at that type")
        return path, facts
    if not quant_type:
        from lqmf.tools.models import resolve
        from lqmf.tools.quantize.convert import cached_sha256, f16_gguf

        f16 = f16_gguf(resolve(target, trust_remote_code), progress)
        return f16, {"f16_path": str(f16), "f16_sha256": cached_sha256(f16), "quant_type": "F16",
                     "method": "gguf", "source": target}
    res = quantize(target, quant_type, progress=progress, trust_remote_code=trust_remote_code)
    return res.artifact, read_sidecar(res.artifact) or {}


def check_numbers(target: str, ctx: int, chunks: int | None, threads: int | None,
                  trust_remote_code: bool = False) -> None:
    """Bad input is one sentence before anything runs (and before a record):
    a model folder that would run code (tools/safety.py), the ranges of
    tools/limits.py, and --ctx within the model's context length."""
    from lqmf.tools.errors import LqmfError, UnsafeModel
    from lqmf.tools.limits import Knob, check

    check_ctx(ctx)
    if chunks is not None:
        check(Knob.CHUNKS, chunks, "--chunks")
    if threads is not None:
        check(Knob.THREADS, threads, "--threads")
    n_ctx = None
    try:
        path = Path(target).expanduser()
        if path.is_file():
            g = read_gguf(path)
            n_ctx = g.get(f"{g.architecture}.context_length")
        else:
            from lqmf.tools.models import inspect, resolve
            from lqmf.tools.safety import require_safe

            source = resolve(target)
            if not source.is_gguf:
                require_safe(source.path, trust_remote_code)
            n_ctx = inspect(source).context
    except UnsafeModel:
        raise
    except (LqmfError, OSError):
        return  # the run itself reports what is wrong with the target
    if isinstance(n_ctx, int) and not isinstance(n_ctx, bool) and 0 < n_ctx < ctx:
        raise InvalidInput(f"--ctx {ctx} is more than the model's context length ({n_ctx})",
                           f"give at most {n_ctx}")


def _baseline(facts: dict, base: str | None, ctx: int, chunks: int | None, threads: int,
              progress: Progress) -> Baseline | None:
    from lqmf.tools.quantize.convert import cached_sha256

    f16 = Path(base) if base else Path(facts["f16_path"]) if facts.get("f16_path") else None
    if f16 is None:
        return None
    if not f16.is_file():
        raise InvalidInput(f"the F16 baseline {f16} is gone",
                           "re-run `lqmf quantize` for this model (it rebuilds the F16), or pass --base")
    key = (None if base else facts.get("f16_sha256")) or cached_sha256(f16)
    return baseline(f16, key[:16], ctx=ctx, chunks=chunks, threads=threads,
                    progress=progress)


def benchmark(target: str, *, quant_type: str | None = None, chunks: int | None = DEFAULT_CHUNKS,
              ctx: int = DEFAULT_CTX, threads: int | None = None, base: str | None = None,
              speed: bool = True, progress: Progress | None = None,
              store: RecordStore | None = None, trust_remote_code: bool = False) -> BenchResult:
    """Measure one artifact; ``target`` is a .gguf path or a model ref (with ``quant_type``)."""
    progress = progress or noop
    check_numbers(target, ctx, chunks, threads, trust_remote_code)
    chunks = DEFAULT_CHUNKS if chunks is None else chunks  # one default everywhere (CLI, chat, sweep, jobs)
    from lqmf.tools.hardware import busy_cores, free_threads

    busy = busy_cores()
    threads = threads or free_threads(busy)
    rec = ExperimentRecord(kind=RunKind.BENCHMARK, status=Status.RUNNING, model=target, cpu_busy=round(busy, 2),
                           quant_type=quant_type, threads=threads, ctx=ctx, tool_versions=tool_versions())
    with recorded_run(rec, store or journal(), "the benchmark"):
        path, facts = _target(target, quant_type, progress, trust_remote_code)
        _fill_identity(rec, path, facts)
        b = _baseline(facts, base, ctx, chunks, threads, progress)
        q, sp = measure(path, base=b, ctx=ctx, chunks=chunks, threads=threads, speed=speed, progress=progress)
        if sp:
            rec.load_s, rec.peak_rss_mb = sp["load_s"], sp["peak_rss_mb"]
            rec.prompt_tok_s, rec.gen_tok_s = sp["prompt_tok_s"], sp["gen_tok_s"]
        rec.ppl, rec.base_ppl, rec.ppl_delta_pct = q.ppl, q.base_ppl, q.ppl_delta_pct
        rec.kld_mean, rec.kld_p99, rec.top1_pct = q.kld_mean, q.kld_p99, q.top1_pct
        rec.eval_text, rec.eval_tokens, rec.ctx = q.eval_text, q.n_scored, q.ctx
    return BenchResult(rec)


def _fill_identity(rec: ExperimentRecord, path: Path, facts: dict) -> None:
    from lqmf.tools.models import catalog_entry
    from lqmf.tools.quantize.types import SPECS, QuantType

    info = read_gguf(path)
    rec.artifact, rec.size_bytes = str(path), path.stat().st_size
    rec.architecture, rec.n_params = info.architecture, info.n_params
    rec.model_name = facts.get("source_name") or rec.model_name or path.stem.split(".")[0]
    rec.method = facts.get("method") or "gguf"
    qt = facts.get("quant_type") or rec.quant_type
    if qt in QuantType.__members__:
        rec.quant_type, rec.bits = qt, SPECS[QuantType(qt)].bits
    rec.artifact_sha256, rec.source_sha256 = facts.get("artifact_sha256"), facts.get("source_sha256")
    entry = catalog_entry(facts.get("source") or rec.model_name or "")
    if entry:
        rec.family, rec.tasks, rec.license = entry.get("family"), list(entry.get("tasks", [])), entry.get("license")
