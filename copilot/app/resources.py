"""Resource samples of running jobs: CPU (percent of one core) and RSS of each
job's process and its children, taken by whoever watches the queue (the
server), appended to ``<data dir>/resource_samples.jsonl`` so the dashboard's
heatmaps cover past jobs too. GPU memory and utilization come from NVML where
there is an NVIDIA GPU and ``nvidia-ml-py`` (tools/hardware.py ``GpuProbe``);
they are None elsewhere."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE = "resource_samples.jsonl"


@dataclass
class Sample:
    at: float
    job: str
    kind: str
    cpu_pct: float
    rss_mb: float
    gpu_mem_mb: float | None = None   # None: no GPU figure (no NVML, or no GPU memory held)
    gpu_pct: float | None = None


def _path() -> Path:
    from lqmf.tools.config import data_dir

    return data_dir() / FILE


class Sampler:
    """Keeps one ``psutil.Process`` per job pid (cpu_percent needs the previous reading)."""

    def __init__(self, gpu: Any = None) -> None:
        from lqmf.tools.hardware import GpuProbe

        self._procs: dict[int, Any] = {}
        self._gpu = gpu if gpu is not None else GpuProbe()

    def sample(self, running: list[tuple[str, str, int | None]]) -> list[Sample]:
        """One sample per (job id, kind, pid) whose process is alive (its children included)."""
        import psutil

        out, now, seen = [], time.time(), set()
        for job, kind, pid in running:
            if not pid:
                continue
            seen.add(pid)
            try:
                proc = self._procs.get(pid) or psutil.Process(pid)
                first = pid not in self._procs
                self._procs[pid] = proc
                family = [proc, *proc.children(recursive=True)]
                cpu = sum(p.cpu_percent(None) for p in family)
                rss = sum(p.memory_info().rss for p in family) / 2**20
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._procs.pop(pid, None)
                continue
            if not first:  # the first cpu_percent of a process is always 0
                gpu = self._gpu.use({p.pid for p in family})
                out.append(Sample(now, job, kind, round(cpu, 1), round(rss, 1),
                                  gpu.mem_mb if gpu else None, gpu.util_pct if gpu else None))
        for gone in set(self._procs) - seen:
            self._procs.pop(gone, None)
        if out:
            with open(_path(), "a", encoding="utf-8") as f:
                f.writelines(json.dumps(asdict(s)) + "\n" for s in out)
        return out


def samples(since: float | None = None, limit: int = 20000) -> list[Sample]:
    p = _path()
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines()[-limit:]:
        try:
            s = Sample(**json.loads(line))
        except (ValueError, TypeError):
            continue
        if since is None or s.at >= since:
            out.append(s)
    return out
