"""A real `lqmf serve` on loopback for the server tests: a subprocess on a free
port, its own data dir, the job queue chosen through the test hook
(``copilot/app/testing.py``: ``sleep:S`` stands a short sleep job in for
quantize/benchmark; ``real`` runs the real kinds), stopped with its workers."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, stop_workers
from tests.store_fixtures import free_port


def lqmf(home: Path, *args: str, timeout: float = 120, jobs: str = "noop",
         worker: bool = False) -> subprocess.CompletedProcess:
    """The CLI under the test hook, on this data dir."""
    from lqmf.copilot.app import testing

    env = dict(os.environ, LQMF_HOME=str(home))
    return subprocess.run([*testing.command(jobs=jobs, worker=worker), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


class Server:
    def __init__(self, home: Path, *, jobs: str = "sleep:0.3", host: str = "127.0.0.1", wait_s: float = 90):
        from lqmf.copilot.app import testing

        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.log = home.parent / f"serve-{self.port}.log"
        env = dict(os.environ, LQMF_HOME=str(home))
        env.pop("LQMF_CHAT_LLM", None)
        self.proc = subprocess.Popen([*testing.command(jobs=jobs, worker=True), "serve", "--host", host,
                                      "--port", str(self.port)], env=env, cwd=ROOT, stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + wait_s
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"lqmf serve exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"lqmf serve did not answer in {wait_s} s: {self.log.read_text()[-3000:]}")

    def warm(self, token: str | None = None) -> None:
        """Wait for the store to open (Chroma and the embedder take seconds, minutes on a busy machine)."""
        with self.client(token, timeout=600) as c:
            r = c.get("/api/records", params={"limit": 1})
            assert r.status_code == 200, r.text

    def client(self, token: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 60), **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        stop_workers(self.home)


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = client.get(f"/api/jobs/{job_id}").json()
        if j["state"] in ("succeeded", "failed", "cancelled"):
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def seed(home: Path, records) -> None:
    """Records into the data dir's journal (the server's Chroma store imports it on first open)."""
    env_before = os.environ.get("LQMF_HOME")
    os.environ["LQMF_HOME"] = str(home)
    try:
        from lqmf.tools.store.journal import JsonlStore

        home.mkdir(parents=True, exist_ok=True)
        s = JsonlStore(home / "records.jsonl")
        for r in records:
            s.add(r)
    finally:
        if env_before is None:
            os.environ.pop("LQMF_HOME", None)
        else:
            os.environ["LQMF_HOME"] = env_before
