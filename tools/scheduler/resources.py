"""How much a job takes (RAM, VRAM, cores), what the machine has free, and the
budget a worker may use ("at most 75% of RAM and 1 core")."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lqmf.tools.errors import InvalidInput
from lqmf.tools.fsutil import human_bytes
from lqmf.tools.scheduler.jobs import JobKind, JobState, Needs

MB = 1 << 20
# RAM while quantizing is each backend's declaration (tools.quantize.registry.Requires)
BENCH_FACTOR, BENCH_OVERHEAD = 1.3, 400 * MB   # file size × factor (+ KV cache, logits)
SMALL_JOB = 64 * MB                             # noop / sleep jobs with nothing declared


@dataclass
class Budget:
    """What a worker may use of this machine."""

    ram_bytes: int
    cores: int
    max_jobs: int
    vram_bytes: int = 0

    def describe(self) -> str:
        return f"{human_bytes(self.ram_bytes)} of RAM, {self.cores} core(s), {self.max_jobs} job(s) at once"


def total_ram() -> int:
    import psutil
    return psutil.virtual_memory().total


def free_ram() -> int:
    import psutil
    return psutil.virtual_memory().available


def machine_cores() -> int:
    from lqmf.tools.hardware import usable_cores

    return usable_cores()


def parse_size(text: str | int | float, total: int | None = None) -> int:
    """``75%`` (of ``total``), ``8G``, ``512MB``, ``2GiB`` or a plain byte count."""
    if isinstance(text, (int, float)):
        return int(text)
    s = str(text).strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", s)
    if m:
        pct = float(m.group(1))
        if not 0 < pct <= 100:
            raise InvalidInput(f"a RAM budget of {text} is not between 1% and 100%", "use e.g. 75%")
        return int((total if total is not None else total_ram()) * pct / 100)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(B|K|KB|KIB|M|MB|MIB|G|GB|GIB|T|TB|TIB)?", s)
    if not m:
        raise InvalidInput(f"cannot read the size '{text}'", "use a percentage like 75% or a size like 8G")
    unit = (m.group(2) or "B")[0]
    return int(float(m.group(1)) * {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit])


def make_budget(ram: str | int | None = None, cores: int | None = None,
                max_jobs: int | None = None) -> Budget:
    """A budget from flags, else ``LQMF_RAM_BUDGET`` / ``LQMF_CORES``, else 75% and every core."""
    from lqmf.tools.settings import get

    ram = ram if ram is not None else str(get("scheduler.ram_budget"))
    cores = cores if cores is not None else (int(get("scheduler.cores")) or machine_cores())
    from lqmf.tools.limits import Knob, check

    cores = check(Knob.CORES, cores)
    if max_jobs is not None:
        max_jobs = check(Knob.MAX_JOBS, max_jobs)
    ram_bytes = parse_size(ram)
    if ram_bytes < 64 * MB:
        raise InvalidInput(f"a RAM budget of {ram} is too small to run any job", "give at least 64M, e.g. 75% or 8G")
    if ram_bytes > total_ram():
        raise InvalidInput(f"a RAM budget of {ram} is more than this machine has",
                           "give a share like 75% or a size below the machine's RAM")
    return Budget(ram_bytes, cores, max_jobs if max_jobs else cores)


# ---- estimates ---------------------------------------------------------------
def _calibration(kind: JobKind, method: str | None) -> float:
    """Measured peak / raw estimate, from past jobs of this kind and method (and
    from experiment records carrying peak RSS). 1.0 with no history; never
    below 0.5, and a 10% margin over the worst seen."""
    ratios: list[float] = []
    try:
        from lqmf.tools.scheduler.store import JobStore, default_path
        if default_path().exists():
            store = JobStore(check=False)
            try:
                for job in store.list([JobState.SUCCEEDED], limit=None, newest_first=True)[:500]:
                    raw = job.needs.raw_ram_bytes
                    if (job.kind is kind and job.peak_rss_bytes and raw
                            and (job.args.get("method") or None) == method):
                        ratios.append(job.peak_rss_bytes / raw)
            finally:
                store.close()
    except Exception:  # calibration is a refinement; never block a submission on it
        pass
    if kind is JobKind.QUANTIZE and method:
        try:
            # the plain JSONL records only: opening Chroma here would cost seconds per submission
            from lqmf.tools.quantize.registry import current
            from lqmf.tools.store.journal import JsonlStore
            reg = current()
            for rec in JsonlStore().all()[-500:]:
                if (rec.kind == "quantize" and rec.peak_rss_mb and rec.n_params and rec.method == method
                        and reg.has(rec.quant_type)):
                    raw = reg.backend_of(str(rec.quant_type)).ram_bytes(rec.n_params)
                    ratios.append(rec.peak_rss_mb * MB / raw)
        except Exception:
            pass
    if not ratios:
        return 1.0
    return min(3.0, max(0.5, max(ratios[-50:]) * 1.1))


def shared_cached(backend, source) -> bool:
    """Is the intermediate ``backend`` shares between jobs (the F16 GGUF) already made for ``source``?"""
    from lqmf.tools.errors import LqmfError
    try:
        return backend.shared is not None and backend.shared(source).is_file()
    except LqmfError:
        return False


def estimate_quantize(model: str, quant_type: str, threads: int | None = None) -> Needs:
    """RAM and cores to quantize ``model`` to ``quant_type``, from its backend's declaration."""
    from lqmf.tools.models import inspect, resolve
    from lqmf.tools.quantize.registry import Device, current

    backend = current().backend_of(quant_type)
    source = resolve(model)
    info = inspect(source)
    warm = backend.requires.ram_warm is not None and shared_cached(backend, source)
    factor = backend.requires.ram_warm if warm and backend.requires.ram_warm else backend.requires.ram
    raw = backend.ram_bytes(info.n_params, warm)
    cal = _calibration(JobKind.QUANTIZE, backend.method.value)
    gpus = 1 if backend.requires.device is Device.GPU else 0
    return Needs(ram_bytes=int(raw * cal), raw_ram_bytes=raw, cpus=threads or machine_cores(), gpus=gpus,
                 basis=f"{info.n_params / 1e6:.0f}M params × {factor.per_param:g} B + {factor.overhead // MB} MB "
                       f"overhead{' (shared input cached)' if warm else ''}, × {cal:.2f} calibration from past runs")


def estimate_benchmark(target: str, threads: int | None = None) -> Needs:
    from pathlib import Path

    p = Path(target).expanduser()
    if p.is_file():
        size = p.stat().st_size
    else:
        from lqmf.tools.models import inspect, resolve
        size = inspect(resolve(target)).size_bytes
    raw = int(size * BENCH_FACTOR + BENCH_OVERHEAD)
    cal = _calibration(JobKind.BENCHMARK, None)
    return Needs(ram_bytes=int(raw * cal), raw_ram_bytes=raw, cpus=threads or machine_cores(),
                 basis=f"{human_bytes(size)} file × {BENCH_FACTOR:g} + {BENCH_OVERHEAD // MB} MB, "
                       f"× {cal:.2f} calibration")
