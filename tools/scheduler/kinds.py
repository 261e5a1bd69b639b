"""What each job kind does, keyed by ``JobKind``: argument checks at submission
(one sentence on bad input), resource needs, the output folder, and the run.

Importing this module is cheap; the engines (torch, llama.cpp) are imported
inside ``run`` so a no-op job never pays for them.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lqmf.tools.errors import InvalidInput
from lqmf.tools.limits import Knob
from lqmf.tools.scheduler.jobs import JobKind, Needs

Progress = Callable[[str, "float | None"], None]


@dataclass(frozen=True)
class KindSpec:
    kind: JobKind
    validate: Callable[[dict], dict]                  # -> normalized args, or raises LqmfError
    needs: Callable[[dict], Needs]
    run: Callable[[dict, Progress], dict]             # -> JSON-able result
    output_dirs: Callable[[dict], list[Path]] = lambda args: []
    shared_key: Callable[[dict], "str | None"] = lambda args: None
    describe: Callable[[dict], str] = lambda args: ""


KINDS: dict[JobKind, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    if spec.kind in KINDS:
        raise ValueError(f"job kind {spec.kind} registered twice")
    KINDS[spec.kind] = spec
    return spec


def spec_for(kind: JobKind | str) -> KindSpec:
    try:
        return KINDS[JobKind(kind)]
    except ValueError:
        raise InvalidInput(f"unknown job kind '{kind}'",
                           "use one of " + ", ".join(k.value for k in JobKind)) from None


def _unknown_keys(kind: JobKind, args: dict, allowed: set[str]) -> None:
    extra = sorted(set(args) - allowed)
    if extra:
        raise InvalidInput(f"a {kind.value} job takes no argument {', '.join(extra)}",
                           "allowed: " + ", ".join(sorted(allowed)))


def _number(args: dict, key: str, default, lo: float, hi: float, cast=float):
    value = args.get(key, default)
    if value is None:
        return None
    try:
        value = cast(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be a number, not {value!r}", f"give a number between {lo} and {hi}") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{key} = {value} is out of range", f"give a number between {lo} and {hi}")
    return value


def _limit(args: dict, knob, default=None):
    """A job argument inside tools/limits.py's range for ``knob`` (None stays None)."""
    from lqmf.tools.limits import check

    key = knob.value.replace("-", "_")
    value = args.get(key, default)
    return None if value is None else check(knob, value, key)


# ---- noop / sleep (queue overhead, tests) --------------------------------------
def _noop_validate(args: dict) -> dict:
    _unknown_keys(JobKind.NOOP, args, set())
    return {}


register(KindSpec(JobKind.NOOP, _noop_validate, lambda a: Needs(ram_bytes=64 << 20, cpus=1),
                  lambda a, p: {}, describe=lambda a: "no-op"))


def _sleep_validate(args: dict) -> dict:
    _unknown_keys(JobKind.SLEEP, args, {"seconds", "mem_mb", "marker", "out_dir", "cpus", "crash"})
    out = {"seconds": _number(args, "seconds", 1.0, 0, 86400),
           "mem_mb": _number(args, "mem_mb", 0, 0, 1 << 20, int),
           "cpus": _number(args, "cpus", 1, 1, 1024, int), "crash": bool(args.get("crash", False))}
    for key in ("marker", "out_dir"):
        if args.get(key):
            out[key] = str(Path(args[key]).expanduser().resolve())
    return out


def _sleep_run(args: dict, progress: Progress) -> dict:
    """Hold ``mem_mb`` of touched RAM for ``seconds``; write a partial file in
    ``out_dir`` that is renamed into place at the end; append one line to
    ``marker`` when it completes (so a test can count completions)."""
    from lqmf.tools.fsutil import atomic_output

    hold = bytearray(args["mem_mb"] << 20)
    for i in range(0, len(hold), 4096):
        hold[i] = 1
    start, total = time.monotonic(), args["seconds"]

    def body() -> None:
        while (left := total - (time.monotonic() - start)) > 0:
            progress("sleeping", min(1.0, (total - left) / total) if total else 1.0)
            time.sleep(min(0.05, left))

    if args.get("out_dir"):
        with atomic_output(Path(args["out_dir"]) / "sleep.out", replace_file=True) as tmp:
            tmp.write_text("partial\n")
            body()
    else:
        body()
    if args.get("crash"):  # tests: die like an out-of-memory kill would
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
    if args.get("marker"):
        with open(args["marker"], "a") as f:
            f.write(f"{os.getpid()}\n")
    import socket
    return {"slept_s": round(time.monotonic() - start, 3), "host": socket.gethostname(),
            "node_ip": os.environ.get("LQMF_NODE_IP")}


register(KindSpec(
    JobKind.SLEEP, _sleep_validate,
    lambda a: Needs(ram_bytes=(a["mem_mb"] << 20) + (40 << 20), cpus=a.get("cpus", 1),
                    basis=f"declared {a['mem_mb']} MB + 40 MB interpreter"),
    _sleep_run,
    output_dirs=lambda a: [Path(a["out_dir"])] if a.get("out_dir") else [],
    describe=lambda a: f"sleep {a['seconds']:g}s" + (f", {a['mem_mb']} MB" if a["mem_mb"] else "")))


# ---- quantize ------------------------------------------------------------------
def _quant_validate(args: dict) -> dict:
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import parse_method, parse_quant_type

    _unknown_keys(JobKind.QUANTIZE, args, {"model", "quant_type", "method", "out_dir", "threads",
                                                   "trust_remote_code", "recipe", "gate", "chunks"})
    if not args.get("model"):
        raise InvalidInput("a quantize job needs a model", "name one, e.g. smollm2")
    if not args.get("quant_type"):
        raise InvalidInput("a quantize job needs a quant type", "give one, e.g. Q4_K_M")
    method = parse_method(args["method"]) if args.get("method") else None
    qt = parse_quant_type(str(args["quant_type"]), method)
    source = resolve(str(args["model"]))  # unknown model -> one sentence
    out: dict[str, object] = {"model": str(args["model"]) if not Path(str(args["model"])).expanduser().exists()
           else str(source.path), "quant_type": qt.value, "method": (method or current().method_of(qt)).value}
    if args.get("out_dir"):
        out["out_dir"] = str(Path(args["out_dir"]).expanduser().resolve())
    if args.get("threads"):
        out["threads"] = _limit(args, Knob.THREADS)
    if args.get("trust_remote_code"):
        out["trust_remote_code"] = True
    m = method or current().method_of(qt)
    out.update(_quant_recipe_and_gate(args, qt.value, m, source, rtn=(current().spec(qt).code or "").endswith("+rtn")))
    return out


def _quant_recipe_and_gate(args: dict, qt: str, method, source, rtn: bool = False) -> dict:
    """A queued quantize's recipe (imatrix / per-tensor overrides, GPTQ's options) and its gate, checked at
    submission as a run now checks them (a saved gate's name becomes its expression,
    so the job's spec stays what was asked whatever is saved later)."""
    from lqmf.tools.gates import parse_gate
    from lqmf.tools.quantize import recipe as recipes
    from lqmf.tools.templates import gate_text

    out: dict = {}
    if args.get("recipe") is not None and not isinstance(args["recipe"], dict):
        raise InvalidInput("a quantize job's recipe must be an object", 'e.g. {"imatrix": "code"}')
    # IQ2 types without an imatrix, a part of another method's recipe: refused here
    recipe = recipes.checked(args.get("recipe"), qt, method.value, rtn=rtn)
    if recipe:
        if recipe.get("imatrix"):
            from lqmf.tools.quantize.imatrix import check_length

            check_length(source, recipe["imatrix"])     # too short: refused before the job is queued
        out["recipe"] = recipe
    gate = parse_gate(gate_text(args.get("gate")))       # malformed: one sentence at submission
    if gate is not None:
        out["gate"] = gate.text
        if args.get("chunks") is not None:
            out["chunks"] = _limit(args, Knob.CHUNKS)
    elif args.get("chunks") is not None:
        raise InvalidInput("a quantize job's chunks are for its gate's benchmark", 'add a gate, e.g. "kld<0.05"')
    return out


def _quant_needs(args: dict) -> Needs:
    from lqmf.tools.scheduler.resources import estimate_quantize
    return estimate_quantize(args["model"], args["quant_type"], args.get("threads"))


def _quant_run(args: dict, progress: Progress) -> dict:
    from lqmf.tools.quantize import quantize

    res = quantize(args["model"], args["quant_type"], method=args["method"],
                   out_dir=args.get("out_dir"), progress=progress,
                   trust_remote_code=bool(args.get("trust_remote_code")), recipe=args.get("recipe"))
    out = {"artifact": str(res.artifact), "quant_type": str(res.quant_type), "method": str(res.method),
           "size_bytes": res.size_bytes, "duration_s": res.duration_s, "record": res.record.to_dict()}
    if args.get("gate"):
        # a killed job runs again from the start: quantize reuses the artifact it made, the benchmark re-runs
        from lqmf.tools.benchmark import benchmark
        from lqmf.tools.gates import parse_gate

        gate = parse_gate(args["gate"])
        assert gate is not None  # validated at submission
        b = benchmark(str(res.artifact), chunks=args.get("chunks"), speed=gate.needs_speed(), gate=gate,
                      progress=progress).record
        out |= {"gate": b.gate, "gate_failed": b.gate_failed, "rejected": bool(b.gate_failed),
                "bench": b.to_dict()}
    return out


def _quant_outputs(args: dict) -> list[Path]:
    from lqmf.tools.config import artifacts_dir, cache_dir
    dirs = [Path(args["out_dir"])] if args.get("out_dir") else []
    art = artifacts_dir()
    dirs += [art, *[p for p in art.iterdir() if p.is_dir()]]
    dirs += [cache_dir() / "f16", cache_dir() / "dense"]
    return dirs


def _quant_shared(args: dict) -> str | None:
    """The intermediate the quant type's backend declares as shared (the F16 GGUF), if any."""
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.registry import current

    shared = current().backend_of(args["quant_type"]).shared
    return f"f16:{shared(resolve(args['model']))}" if shared else None


register(KindSpec(JobKind.QUANTIZE, _quant_validate, _quant_needs, _quant_run,
                  output_dirs=_quant_outputs, shared_key=_quant_shared,
                  describe=lambda a: f"quantize {a['model']} to {a['quant_type']} ({a['method']})"
                  + (f" with {', '.join(f'{k}={v}' for k, v in a['recipe'].items())}" if a.get("recipe") else "")
                  + (f", gate {a['gate']}" if a.get("gate") else "")))


# ---- benchmark -----------------------------------------------------------------
def _bench_validate(args: dict) -> dict:
    from lqmf.tools.models import resolve
    from lqmf.tools.quantize.types import parse_quant_type

    _unknown_keys(JobKind.BENCHMARK, args, {"target", "quant_type", "chunks", "ctx", "threads",
                                                    "trust_remote_code", "gate", "speed"})
    target = args.get("target")
    if not target:
        raise InvalidInput("a benchmark job needs a target", "give an artifact path or a model")
    out: dict = {}
    if isinstance(target, dict):
        if not target.get("from_job"):
            raise InvalidInput("a benchmark target must be a path, a model or {'from_job': ID}",
                               "give an artifact path")
        out["target"] = {"from_job": str(target["from_job"])}
    else:
        p = Path(str(target)).expanduser()
        out["target"] = str(p.resolve()) if p.exists() else str(resolve(str(target)).ref)
    if args.get("quant_type"):
        out["quant_type"] = parse_quant_type(str(args["quant_type"])).value
    out["chunks"] = _limit(args, Knob.CHUNKS)
    out["ctx"] = _limit(args, Knob.CTX, 512)
    out["threads"] = _limit(args, Knob.THREADS)
    if args.get("trust_remote_code"):
        out["trust_remote_code"] = True
    if args.get("gate"):
        from lqmf.tools.gates import parse_gate

        out["gate"] = str(parse_gate(str(args["gate"])))  # malformed: one sentence at submission
    if args.get("speed") is False:
        out["speed"] = False
    return out


def _bench_needs(args: dict) -> Needs:
    from lqmf.tools.scheduler.resources import estimate_benchmark
    if isinstance(args["target"], dict):  # the artifact does not exist yet: budget as its source
        return Needs(ram_bytes=1 << 30, cpus=args.get("threads") or 1, basis="artifact not made yet; 1 GB")
    return estimate_benchmark(args["target"], args.get("threads"))


def _bench_run(args: dict, progress: Progress) -> dict:
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.gates import parse_gate

    res = benchmark(args["target"], quant_type=args.get("quant_type"), chunks=args.get("chunks"),
                    ctx=args.get("ctx") or 512, threads=args.get("threads"), progress=progress,
                    trust_remote_code=bool(args.get("trust_remote_code")), gate=parse_gate(args.get("gate")),
                    speed=args.get("speed", True) is not False)
    return {"record": res.record.to_dict()}


register(KindSpec(JobKind.BENCHMARK, _bench_validate, _bench_needs, _bench_run,
                  describe=lambda a: f"benchmark {a['target']}"))

# ---- tune ----------------------------------------------------------------------
def _tune_validate(args: dict) -> dict:
    from lqmf.tools.tune.args import check_tune_args

    _unknown_keys(JobKind.TUNE, args, {"model", "gate", "goal", "use", "chunks", "candidates", "mixed", "parallel",
                                             "exhaustive", "methods"})
    return check_tune_args(args)


def _tune_needs(args: dict) -> Needs:
    from lqmf.tools.scheduler.resources import estimate_quantize

    from lqmf.tools.tune.args import candidates_of

    firsts = {c.method: c.quant_type for c in reversed(candidates_of(args))}   # one type per method mixed
    one = max((estimate_quantize(args["model"], t) for t in firsts.values() or ["Q8_0"]),
              key=lambda n: n.ram_bytes)      # bitsandbytes / GPTQ trials hold the dense model in RAM
    n = int(args.get("parallel") or 1)
    return Needs(ram_bytes=one.ram_bytes * n, cpus=machine_cores_or(2), basis=f"{n} trial(s) of {one.basis}")


def machine_cores_or(default: int) -> int:
    from lqmf.tools.scheduler.resources import machine_cores

    return machine_cores() or default


def _tune_run(args: dict, progress: Progress) -> dict:
    from lqmf.tools.tune.args import run_tune

    return run_tune(args, progress)


register(KindSpec(JobKind.TUNE, _tune_validate, _tune_needs, _tune_run, output_dirs=_quant_outputs,
                  describe=lambda a: f"tune {a['model']} for {a['gate']} ({a.get('goal') or 'smallest'})"))

assert set(KINDS) == set(JobKind), "every JobKind needs a KindSpec"
