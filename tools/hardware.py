"""What this machine has: CPU and its features, cores free right now, RAM,
disk, GPUs. Read from /proc, psutil and NVML/nvidia-smi where present;
nothing here is guessed."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# CPU features that decide which ggml kernels run (shown by `lqmf doctor`).
KEY_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
             "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "neon", "sve")


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[float, float] | None:
    try:
        with open("/proc/stat") as f:
            parts = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0.0)
    return idle, sum(parts[:8])


def _proc_ticks(pids: list[int]) -> float:
    """CPU time (clock ticks, as /proc/stat counts) used so far by ``pids``."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += float(fields[11]) + float(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return total


class BusySample:
    """Cores kept busy by other work: /proc/stat over a window, less the CPU
    time of this process and of ``exclude`` (our own children). Started early,
    so that the window covers our own start-up instead of a sleep; read with
    ``cores()``, which waits out the rest of ``sample_s``. A window much longer
    than that (our own long work in between) is discarded for a fresh one."""

    def __init__(self, exclude: "list[int | None] | tuple" = (), sample_s: float = 0.25):
        self.pids = [os.getpid(), *(p for p in exclude if p)]
        self.sample_s = sample_s
        self._start()

    def _start(self) -> None:
        self.t0, self.a, self.own0 = time.monotonic(), _cpu_times(), _proc_ticks(self.pids)

    def cores(self) -> float:
        if time.monotonic() - self.t0 > 4 * self.sample_s:
            self._start()
        time.sleep(max(0.0, self.sample_s - (time.monotonic() - self.t0)))
        b, own = _cpu_times(), _proc_ticks(self.pids) - self.own0
        a = self.a
        if not a or not b or b[1] <= a[1]:
            return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        busy_ticks = (b[1] - a[1]) - (b[0] - a[0]) - own
        return max(0.0, busy_ticks / (b[1] - a[1]) * (os.cpu_count() or 1))


def busy_cores(sample_s: float = 0.25) -> float:
    """Cores kept busy by other work, measured over ``sample_s`` (from /proc/stat)."""
    return BusySample(sample_s=sample_s).cores()


def free_threads(busy: float | None = None) -> int:
    """Threads for llama.cpp: the usable cores not busy with other work (at least 1).
    Oversubscribed cores make llama.cpp's threads wait on each other: generation
    on 2 busy cores at 2 threads was measured 10x slower than at 1."""
    busy = busy_cores() if busy is None else busy
    return max(1, min(usable_cores(), round(usable_cores() - busy)))


@dataclass
class CpuInfo:
    model: str
    arch: str
    cores: int
    flags: list[str]
    load_1m: float


@dataclass
class GpuInfo:
    name: str
    vram_gb: float
    driver: str | None = None


@dataclass
class Machine:
    cpu: CpuInfo
    ram_total_gb: float
    ram_available_gb: float
    disk_free_gb: float
    disk_path: str
    gpus: list[GpuInfo] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def cpu_info() -> CpuInfo:
    import platform

    from lqmf.tools.llamacpp.build import cpu_flags, cpu_model

    flags = cpu_flags()
    return CpuInfo(cpu_model(), platform.machine(), usable_cores(), [f for f in KEY_FLAGS if f in flags],
                   os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)


def gpus() -> list[GpuInfo]:
    """NVIDIA GPUs through NVML (pynvml) or nvidia-smi; [] when there are none."""
    try:
        import pynvml

        pynvml.nvmlInit()
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            out.append(GpuInfo(name.decode() if isinstance(name, bytes) else str(name),
                               pynvml.nvmlDeviceGetMemoryInfo(h).total / 1e9,
                               str(pynvml.nvmlSystemGetDriverVersion())))
        return out
    except Exception:  # noqa: BLE001 - no NVML is the common case
        pass
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        text = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2:
            try:
                found.append(GpuInfo(parts[0], float(parts[1]) / 1024.0, parts[2] if len(parts) > 2 else None))
            except ValueError:
                continue
    return found


def machine(disk_path: Path | None = None) -> Machine:
    import psutil

    from lqmf.tools.config import data_dir

    path = disk_path or data_dir()
    vm = psutil.virtual_memory()
    return Machine(cpu_info(), vm.total / 1e9, vm.available / 1e9, shutil.disk_usage(path).free / 1e9,
                   str(path), gpus())


@dataclass(frozen=True)
class GpuUse:
    """What a set of processes holds on NVIDIA GPUs at one moment."""

    mem_mb: float      # GPU memory the processes hold, all devices together
    util_pct: float    # utilization of the busiest device they hold memory on (NVML: the whole device)


class GpuProbe:
    """Per-process GPU use through NVML (the ``nvidia-ml-py`` package). ``use`` is None
    without NVML or a driver, or when none of the processes holds GPU memory. NVML
    names processes by their pid on the host: inside a container without the host's
    pid namespace the job's processes are not found, and nothing is reported."""

    def __init__(self, nvml: Any = None) -> None:
        self._nvml = nvml                 # the pynvml module (passed in by tests), else imported
        self._ready: bool | None = None   # None: not tried yet

    def _lib(self) -> Any:
        if self._ready is None:
            try:
                if self._nvml is None:
                    import pynvml

                    self._nvml = pynvml
                self._nvml.nvmlInit()
                self._ready = True
            except Exception:  # noqa: BLE001 - no NVML library or no driver: no GPU figures
                self._ready = False
        return self._nvml if self._ready else None

    def use(self, pids: set[int]) -> GpuUse | None:
        nv = self._lib()
        if nv is None or not pids:
            return None
        mem, util, found = 0.0, 0.0, False
        try:
            for i in range(nv.nvmlDeviceGetCount()):
                h = nv.nvmlDeviceGetHandleByIndex(i)
                mine = [p for p in nv.nvmlDeviceGetComputeRunningProcesses(h) if p.pid in pids]
                if not mine:
                    continue
                found = True
                mem += sum(p.usedGpuMemory or 0 for p in mine) / 2**20   # None where the driver hides it
                util = max(util, float(nv.nvmlDeviceGetUtilizationRates(h).gpu))
        except Exception:  # noqa: BLE001 - a device that went away mid-sample: no figure this time
            return None
        return GpuUse(round(mem, 1), util) if found else None
