"""Benchmark an artifact (or a model + quant type): size, load time, peak
RSS, prompt/generation tokens/s, perplexity, and KL divergence / top-1
agreement against the F16 baseline of the same model on the same tokens.

The artifact's backend declaration says how it is read back and what runs it
(``Backend.artifact.read``, ``Backend.bench``); ``RUNNERS`` maps the engine to
the measuring function."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path

from lqmf.tools.errors import InvalidInput, MissingComponent
from lqmf.tools.progress import Progress, noop
from lqmf.tools.quantize.registry import Backend, current
from lqmf.tools.quantize.types import BenchEngine
from lqmf.tools.store.journal import journal
from lqmf.tools.store.records import ExperimentRecord, RecordStore, RunKind, Status, recorded_run, tool_versions

from lqmf.tools.benchmark.quality import DEFAULT_CHUNKS, DEFAULT_CTX, ENGINE, Baseline, baseline, measure
from lqmf.tools.benchmark.scorer import check_ctx

if TYPE_CHECKING:
    from lqmf.tools.gates import Gate
    from lqmf.tools.proc import Prestarted


def measure_hf(model: Path, **kw):
    return measure(model, engine=BenchEngine.TRANSFORMERS.value, **kw)


RUNNERS = {BenchEngine.LLAMA_CPP: measure, BenchEngine.TRANSFORMERS: measure_hf}


@dataclass
class BenchResult:
    record: ExperimentRecord


def backend_for(path: Path, facts: dict) -> Backend:
    """The backend of an artifact: by the quant type its sidecar names, else by its
    suffix, else the first backend the benchmark can run (whose reader then says
    what is wrong with the file)."""
    reg = current()
    qt = facts.get("quant_type")
    if qt and reg.has(qt):
        return reg.backend_of(qt)
    found = reg.for_path(path)
    if found is not None:
        return found
    return next(b for b in reg.backends if b.bench is not None)


def _runner(backend: Backend):
    if backend.bench is None or backend.bench not in RUNNERS:
        raise MissingComponent(f"benchmarking {backend.method.value} artifacts ({backend.name}) is not "
                               "available in this version", "benchmark a GGUF type (Q4_K_M, Q8_0 ...)")
    return RUNNERS[backend.bench]


def _target(target: str, quant_type: str | None, progress: Progress,
            trust_remote_code: bool = False, recipe: dict | None = None) -> tuple[Path, dict]:
    """The artifact to measure and what we know of its lineage (sidecar facts).
    ``recipe``: how to quantize the model at ``quant_type`` (GPTQ's options, an imatrix ...)."""
    from lqmf.tools.quantize import quantize, read_sidecar
    from lqmf.tools.quantize.checkpoint import foreign_gptq

    path = Path(target).expanduser()
    if recipe and (path.is_file() or (path.is_dir() and (read_sidecar(path) or foreign_gptq(path)))):
        raise InvalidInput(f"{path.name} is already quantized: options of how to quantize do not apply to it",
                           "drop --group-size/--desc-act/--calibration, or pass the model name with --type")
    if path.is_dir() and not read_sidecar(path) and foreign_gptq(path):  # a GPTQ checkpoint lqmf did not make
        from lqmf.tools.quantize.checkpoint import gptq_facts
        from lqmf.tools.safety import require_safe

        require_safe(path, trust_remote_code)
        facts = gptq_facts(path)
        if quant_type and quant_type.upper() != facts["quant_type"]:
            raise InvalidInput(f"{path.name} is {facts['quant_type']}, not {quant_type}",
                               "drop --type to benchmark the checkpoint as it is")
        return path, facts
    if path.is_file() or (path.is_dir() and read_sidecar(path)):  # a folder artifact lqmf made
        facts = read_sidecar(path) or {}
        backend_for(path, facts).artifact.read(path)  # a file that is not one: one sentence
        if quant_type:  # allowed when it names what the artifact is
            from lqmf.tools.quantize import resolve_type

            want = resolve_type(quant_type, None)[0].value
            if facts.get("quant_type") != want:
                raise InvalidInput(f"{path.name} is {facts.get('quant_type') or 'not an lqmf artifact'}, not {want}",
                                   "drop --type, or pass the model name to benchmark it at that type")
        return path, facts
    if not quant_type:
        if recipe:
            raise InvalidInput("--group-size, --desc-act and --calibration say how to quantize, and no --type was given",
                               "add --type (e.g. --method gptq --bits 4)")
        from lqmf.tools.models import resolve
        from lqmf.tools.quantize.convert import cached_sha256, f16_gguf

        f16 = f16_gguf(resolve(target, trust_remote_code), progress)
        return f16, {"f16_path": str(f16), "f16_sha256": cached_sha256(f16), "quant_type": "F16",
                     "method": "gguf", "source": target}
    res = quantize(target, quant_type, progress=progress, trust_remote_code=trust_remote_code, recipe=recipe or None)
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
            from lqmf.tools.quantize import read_sidecar

            n_ctx = backend_for(path, read_sidecar(path) or {}).artifact.read(path).context
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
              progress: Progress, engine: "Prestarted | None" = None, **kw) -> Baseline | None:
    from lqmf.tools.quantize.convert import cached_sha256

    f16 = Path(base) if base else Path(facts["f16_path"]) if facts.get("f16_path") else None
    if f16 is None:
        return None
    if not f16.is_file():
        raise InvalidInput(f"the F16 baseline {f16} is gone",
                           "re-run `lqmf quantize` for this model (it rebuilds the F16), or pass --base")
    key = (None if base else facts.get("f16_sha256")) or cached_sha256(f16)
    return baseline(f16, key[:16], ctx=ctx, chunks=chunks, threads=threads,
                    progress=progress, prestarted=engine, **kw)


def benchmark(target: str, *, quant_type: str | None = None, chunks: int | None = DEFAULT_CHUNKS,
              ctx: int = DEFAULT_CTX, threads: int | None = None, base: str | None = None,
              speed: bool = True, progress: Progress | None = None,
              store: RecordStore | None = None, trust_remote_code: bool = False,
              gate: "Gate | None" = None, text: str | None = None, recipe: dict | None = None) -> BenchResult:
    """Measure one artifact; ``target`` is a .gguf path, an artifact folder, a GPTQ checkpoint
    folder (``quantization_config.quant_method`` "gptq"; KLD needs ``base``), or a model ref
    (with ``quant_type``, quantized as ``recipe`` says when it is missing).
    ``gate`` (tools/gates.py): the record is marked rejected with the conditions it fails.
    ``text``: the evaluation text (knowledge/evaldata; default its DEFAULT)."""
    progress = progress or noop
    check_numbers(target, ctx, chunks, threads, trust_remote_code)
    chunks = DEFAULT_CHUNKS if chunks is None else chunks  # one default everywhere (CLI, chat, sweep, jobs)
    from lqmf.tools.hardware import BusySample, free_threads
    from lqmf.tools.proc import Prestarted

    rec = ExperimentRecord(kind=RunKind.BENCHMARK, status=Status.RUNNING, model=target,
                           quant_type=quant_type, threads=threads, ctx=ctx, tool_versions=tool_versions())
    # the engine child starts now: its imports overlap our own start-up and the load sample
    with Prestarted(ENGINE) as engine, recorded_run(rec, store or journal(), "the benchmark"):
        sample = BusySample(exclude=[engine.pid])
        path, facts = _target(target, quant_type, progress, trust_remote_code, recipe)
        backend = backend_for(path, facts)
        run = _runner(backend)
        _fill_identity(rec, path, facts, backend)
        busy = sample.cores()
        rec.cpu_busy, rec.threads = round(busy, 2), threads or free_threads(busy)
        kw = {"text": text} if text else {}
        b = _baseline(facts, base, ctx, chunks, rec.threads, progress, engine, **kw)
        q, sp = run(path, base=b, ctx=ctx, chunks=chunks, threads=rec.threads, speed=speed, progress=progress,
                    prestarted=engine, **kw)
        if sp:
            rec.load_s, rec.peak_rss_mb = sp["load_s"], sp["peak_rss_mb"]
            rec.prompt_tok_s, rec.gen_tok_s = sp["prompt_tok_s"], sp["gen_tok_s"]
        rec.ppl, rec.base_ppl, rec.ppl_delta_pct = q.ppl, q.base_ppl, q.ppl_delta_pct
        rec.kld_mean, rec.kld_p99, rec.top1_pct = q.kld_mean, q.kld_p99, q.top1_pct
        rec.eval_text, rec.eval_tokens, rec.ctx = q.eval_text, q.n_scored, q.ctx
        rec.recipe = dict(facts.get("recipe") or {})
        if gate is not None:
            rec.gate, rec.gate_failed = gate.text, gate.check(rec.to_dict())
        else:   # no gate now: the artifact's standing rejection, if it has one (tools/verdict.py)
            _carry_verdict(rec, path, facts, store or journal())
    return BenchResult(rec)


def _carry_verdict(rec: ExperimentRecord, path: Path, facts: dict, store: RecordStore) -> None:
    from lqmf.tools.verdict import standing

    v = standing(path, store.all(), facts.get("artifact_sha256"))
    if v is not None and v.rejected:
        rec.gate, rec.gate_failed = v.gate, v.carried()


def _fill_identity(rec: ExperimentRecord, path: Path, facts: dict, backend: Backend) -> None:
    from lqmf.tools.models import catalog_entry

    info = backend.artifact.read(path)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
    rec.artifact, rec.size_bytes = str(path), size
    rec.architecture, rec.n_params = info.architecture, info.n_params
    rec.model_name = facts.get("source_name") or rec.model_name or path.stem.split(".")[0]
    rec.method = facts.get("method") or backend.method.value
    qt = facts.get("quant_type") or rec.quant_type
    reg = current()
    if qt and reg.has(qt):
        rec.quant_type, rec.bits = qt, reg.spec(qt).bits
    rec.artifact_sha256, rec.source_sha256 = facts.get("artifact_sha256"), facts.get("source_sha256")
    entry = catalog_entry(facts.get("source") or rec.model_name or "")
    if entry:
        rec.family, rec.tasks, rec.license = entry.get("family"), list(entry.get("tasks", [])), entry.get("license")
