"""Shared helpers for the store tests: a real Chroma server on loopback, records."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lqmf.tools.store.records import ExperimentRecord

DAY = 86400.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on 127.0.0.1 and a free port, killed by stop()."""

    def __init__(self, path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("chroma")
        self.log = path.parent / "chroma-server.log"
        self.proc = subprocess.Popen(
            [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"chroma server exited: {self.log.read_text()[-2000:]}")
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("chroma server did not start in 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def rec(model="smollm2", qt="Q4_K_M", size=105e6, tok=96.0, kld=0.06, status="succeeded",
        kind="benchmark", age_days=1.0, error=None, **kw) -> ExperimentRecord:
    from lqmf.tools.quantize.registry import current

    spec = current().spec(qt)
    return ExperimentRecord(
        kind=kind, status=status, model=model, model_name=kw.pop("model_name", model),
        method=spec.method.value, quant_type=qt, bits=spec.bits,
        size_bytes=int(size) if size is not None and status == "succeeded" else None,
        gen_tok_s=tok if status == "succeeded" else None,
        kld_mean=kld if status == "succeeded" else None,
        error=error, created_at=time.time() - age_days * DAY, **kw)


def sample_records() -> list[ExperimentRecord]:
    """A small history: several models, types, a collapse, failures old and new."""
    return [
        rec("smollm2", "Q4_K_M", 105e6, 96.0, 0.062, id="sm-q4km"),
        rec("smollm2", "Q8_0", 145e6, 80.0, 0.0046, id="sm-q80"),
        rec("smollm2", "Q2_K", 88e6, 99.0, 1.9, id="sm-q2k"),
        rec("smollm2", "Q4_K_M", 105e6, 91.0, 0.062, age_days=20, id="sm-q4km-old"),
        rec("HuggingFaceTB/SmolLM2-135M-Instruct", "Q6_K", 138e6, 85.0, 0.010, model_name="smollm2",
            id="sm-q6k-hub"),
        rec("llama-3.1-8b", "Q4_K_M", 4.9e9, 9.0, 0.031, id="llama8-q4km"),
        rec("llama-3.2-3b", "Q4_K_M", 2.4e9, 18.0, 0.035, id="llama3-q4km"),
        rec("qwen2.5-coder-1.5b", "Q4_K_M", 1.1e9, 30.0, 0.04, id="coder-q4km"),
        rec("mistral-7b", "Q4_K_M", status="failed", kind="quantize", age_days=3,
            error="the machine ran out of memory", id="mistral-oom"),
        rec("gemma3-270m", "Q4_0", status="failed", kind="quantize", age_days=10,
            error="llama.cpp could not read the model file; it looks truncated or corrupt",
            id="gemma-corrupt-old"),
    ]
