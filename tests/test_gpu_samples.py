"""GPU figures of the resource samples: NVML is the edge we do not own (no NVIDIA GPU on
these machines), so it is faked here by a module with NVML's calls and shapes; the
sampler, its file and the real psutil side are real."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from lqmf.copilot.app import resources
from lqmf.tools.hardware import GpuProbe


class FakeNvml:
    """Two devices: device 0 runs pid A (1 GiB) and a stranger, device 1 runs pid A (512 MiB, memory hidden
    for the stranger); utilization 30 % and 70 %."""

    def __init__(self, mine: int, fail_init: bool = False):
        self.mine, self.fail_init, self.inits = mine, fail_init, 0

    def nvmlInit(self):
        self.inits += 1
        if self.fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        if h == 0:
            return [SimpleNamespace(pid=self.mine, usedGpuMemory=2**30), SimpleNamespace(pid=1, usedGpuMemory=2**33)]
        return [SimpleNamespace(pid=self.mine, usedGpuMemory=2**29), SimpleNamespace(pid=1, usedGpuMemory=None)]

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=30 if h == 0 else 70)


def test_fake_nvml_probe_counts_only_the_jobs_processes():
    nv = FakeNvml(mine=4242)
    probe = GpuProbe(nv)
    use = probe.use({4242, 5555})
    assert use is not None and use.mem_mb == 1536.0 and use.util_pct == 70.0
    assert probe.use({5555}) is None            # holds nothing on any GPU
    assert probe.use(set()) is None
    assert nv.inits == 1                        # NVML is started once


def test_without_nvml_there_are_no_gpu_figures():
    assert GpuProbe(FakeNvml(mine=1, fail_init=True)).use({1}) is None
    # the real library: absent here; where it is present, this test process holds no GPU memory
    assert GpuProbe().use({os.getpid()}) is None


@pytest.fixture
def child():
    p = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: sum(range(10**5))"])
    yield p
    p.kill()
    p.wait()


def test_fake_nvml_sampler_writes_gpu_figures_for_a_real_process(monkeypatch, tmp_path, child):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path))
    s = resources.Sampler(gpu=GpuProbe(FakeNvml(mine=child.pid)))
    assert s.sample([("j1", "benchmark", child.pid)]) == []    # the first reading of a process is its baseline
    time.sleep(0.3)
    (got,) = s.sample([("j1", "benchmark", child.pid)])
    assert got.gpu_mem_mb == 1536.0 and got.gpu_pct == 70.0 and got.cpu_pct > 0 and got.rss_mb > 0
    (back,) = resources.samples()
    assert back == got


def test_old_sample_lines_without_gpu_fields_still_read(monkeypatch, tmp_path):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path))
    (tmp_path / resources.FILE).write_text('{"at": 1.0, "job": "a", "kind": "quantize", "cpu_pct": 5, "rss_mb": 9}\n')
    (s,) = resources.samples()
    assert s.gpu_mem_mb is None and s.gpu_pct is None and s.rss_mb == 9
