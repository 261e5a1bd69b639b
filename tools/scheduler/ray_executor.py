"""Run jobs on an existing Ray cluster. The job store stays the source of
truth: this process (the driver) claims jobs from it like a local worker,
hands each to Ray with its resource needs (CPUs, memory, GPUs), and writes
the outcome back. A job whose node dies is retried by Ray on another node
(``max_retries``); application errors are not retried (they would fail again).

The address comes from the argument, ``LQMF_RAY_ADDRESS``, or Ray's own
``RAY_ADDRESS``. Ray is imported only here, and only when this runs.
"""
from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lqmf.tools.errors import LqmfError, MissingComponent, RayUnavailable
from lqmf.tools.scheduler import admission
from lqmf.tools.scheduler.jobs import Job, JobState
from lqmf.tools.settings import get
from lqmf.tools.scheduler.resources import Budget
from lqmf.tools.scheduler.store import JobStore
from lqmf.tools.scheduler.worker import WorkerStats

NODE_RETRIES = int(get("ray.retries"))


def ray_address(address: str | None = None) -> str:
    addr = address or str(get("ray.address")) or os.environ.get("RAY_ADDRESS")
    if not addr:
        raise RayUnavailable("no Ray cluster address is configured",
                             "pass --ray HOST:6379 or set LQMF_RAY_ADDRESS")
    return addr


def probe_address(address: str, timeout: float = 3.0) -> None:
    """Refuse an address where nothing listens, before Ray retries for minutes.
    "auto" and ray:// client addresses are left to Ray."""
    import socket

    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayUnavailable(f"{address!r} is not a Ray address", "use HOST:PORT, e.g. 127.0.0.1:6379")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise RayUnavailable(f"no Ray cluster answers at {address} ({e.strerror or e})",
                             "start one with `ray start --head` or check the address") from None


def _package_for_ray() -> str:
    """The `lqmf` package as Ray ships it: its engine half (tools, knowledge), copied once per process."""
    import tempfile

    root = Path(__file__).resolve().parents[2]
    stage = Path(tempfile.mkdtemp(prefix="lqmf-ray-")) / "lqmf"
    for part in ("tools", "knowledge"):
        shutil.copytree(root / part, stage / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return str(stage)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MissingComponent("running jobs on a Ray cluster needs Ray",
                               "install the extra: pip install 'lqmf[ray]'") from None
    return ray


def _no_progress(stage: str, fraction: float | None = None) -> None:
    """A Ray task runs without the job store, so its progress goes nowhere."""


def execute(kind: str, args: dict) -> dict:
    """What runs on a Ray node: the job's kind, without the job store."""
    import ray

    from lqmf.tools.scheduler.kinds import spec_for
    node_ip = ray.util.get_node_ip_address()
    os.environ["LQMF_NODE_IP"] = node_ip
    try:
        result = spec_for(kind).run(args, _no_progress)
        return {"ok": True, "result": result, "node_ip": node_ip}
    except LqmfError as e:
        return {"ok": False, "error": str(e), "node_ip": node_ip}


@dataclass
class InFlight:
    job: Job
    attempt: int
    ref: object


class RayExecutor:
    def __init__(self, address: str | None = None, *, max_jobs: int | None = None, drain: bool = False,
                 poll_s: float = 0.1, heartbeat_s: float = 1.0, store_path: Path | None = None,
                 ship_code: bool | None = None):
        self.address = ray_address(address)
        self.max_jobs, self.drain, self.poll_s, self.heartbeat_s = max_jobs, drain, poll_s, heartbeat_s
        self.store = JobStore(store_path)
        self.id = f"ray:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.in_flight: dict[str, InFlight] = {}
        self.stats = WorkerStats()
        self.ship_code = ship_code if ship_code is not None else bool(get("ray.ship_code"))
        self._stop = False

    def _connect(self):
        probe_address(self.address)  # one sentence at once, not minutes of Ray's own retries
        ray = _import_ray()
        stage = _package_for_ray() if self.ship_code else None
        runtime_env = {"py_modules": [stage]} if stage else None
        try:
            ray.init(address=self.address, runtime_env=runtime_env, log_to_driver=False,
                     logging_level="ERROR", ignore_reinit_error=True)
        except Exception as e:
            raise RayUnavailable(f"cannot reach the Ray cluster at {self.address} ({str(e).splitlines()[0][:160]})",
                                 "start it with `ray start --head` or check the address") from None
        finally:
            if stage:  # Ray has uploaded its own copy by now
                shutil.rmtree(Path(stage).parent, ignore_errors=True)
        self._remote = ray.remote(execute)
        return ray

    def _budget(self, ray) -> Budget:
        res = ray.cluster_resources()
        cpus = int(res.get("CPU", 1))
        return Budget(ram_bytes=int(res.get("memory", 1 << 40)), cores=max(1, cpus),
                      max_jobs=self.max_jobs or max(1, cpus))

    def run(self) -> WorkerStats:
        import signal
        ray = self._connect()
        self.store.register_worker(self.id, {"kind": "ray", "address": self.address})
        old = {s: signal.signal(s, lambda *_: setattr(self, "_stop", True)) for s in (signal.SIGTERM, signal.SIGINT)}
        last_beat = 0.0
        try:
            while not self._stop:
                self._collect(ray)
                self._cancels(ray)
                if time.time() - last_beat > self.heartbeat_s:
                    from lqmf.tools.scheduler import recovery
                    self.store.worker_heartbeat(self.id)
                    self.store.heartbeat(list(self.in_flight))
                    recovery.recover_orphans(self.store, own={self.id})
                    last_beat = time.time()
                self._admit(ray)
                if self.drain and not self.in_flight and not self._runnable():
                    break
                time.sleep(self.poll_s)
        finally:
            for f in self.in_flight.values():  # queue again what we leave behind
                ray.cancel(f.ref, force=True)
                self.store.update(f.job.id, where="state='running' AND attempts=?", where_params=(f.attempt,),
                                  state=JobState.QUEUED, attempts=f.attempt - 1, worker=None)
            self.store.unregister_worker(self.id)
            for s, h in old.items():
                signal.signal(s, h)
            ray.shutdown()
        return self.stats

    def _runnable(self) -> bool:
        now = time.time()
        return any(not j.not_before or j.not_before <= now or j.attempts > 0
                   for j in self.store.list([JobState.QUEUED]))

    def _admit(self, ray) -> None:
        budget = self._budget(ray)
        if len(self.in_flight) >= budget.max_jobs:
            return
        queued = self.store.runnable(time.time(), max(64, 8 * budget.max_jobs))
        if not queued:
            return
        states: dict[str, JobState | None] = {}
        for dep in {j.depends_on for j in queued if j.depends_on}:
            try:
                states[dep] = self.store.get(dep).state
            except LqmfError:
                states[dep] = None
        running = [f.job for f in self.in_flight.values()]
        # Ray packs jobs onto nodes by their declared resources; admission only orders them
        d = admission.choose(queued, running, budget, free_ram=budget.ram_bytes, now=time.time(),
                             dep_state=states.get)
        for jid, why in d.skip.items():
            self.store.update(jid, where="state='queued'", state=JobState.CANCELLED, error=why,
                              finished_at=time.time(), stage="skipped")
        for job in d.start:
            if not self.store.claim(job.id, self.id):
                continue
            job = self.store.get(job.id)
            from lqmf.tools.scheduler.run_job import resolve_refs
            try:
                args = resolve_refs(job.args, self.store)
            except LqmfError as e:
                self.store.finish(job.id, job.attempts, JobState.FAILED, error=str(e))
                continue
            ref = self._remote.options(
                num_cpus=max(1, job.needs.cpus), memory=max(1, job.needs.ram_bytes), num_gpus=job.needs.gpus,
                max_retries=NODE_RETRIES, retry_exceptions=False, name=f"lqmf-{job.kind.value}-{job.id}",
            ).remote(job.kind.value, args)
            self.store.update(job.id, stage="submitted to Ray")
            self.in_flight[job.id] = InFlight(job, job.attempts, ref)
            self.stats.started += 1

    def _collect(self, ray) -> None:
        if not self.in_flight:
            return
        refs = {f.ref: jid for jid, f in self.in_flight.items()}
        ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=0)
        for ref in ready:
            jid = refs[ref]
            f = self.in_flight.pop(jid)
            kw: dict[str, Any]
            try:
                out = ray.get(ref)
            except Exception as e:  # node retries used up, or the task itself crashed
                text = str(e).strip().splitlines()
                state, kw = JobState.FAILED, {"error": f"the job failed on the Ray cluster: {(text or ['?'])[-1][:300]}"}
            else:
                if out["ok"]:
                    res = dict(out["result"] or {}, node_ip=out["node_ip"])
                    state, kw = JobState.SUCCEEDED, {"result": res}
                else:
                    state, kw = JobState.FAILED, {"error": out["error"]}
            self.store.finish(jid, f.attempt, state, **kw)
            self.stats.finished[state.value] = self.stats.finished.get(state.value, 0) + 1

    def _cancels(self, ray) -> None:
        for jid in self.store.cancel_requested(list(self.in_flight)):
            f = self.in_flight.pop(jid)
            ray.cancel(f.ref, force=True)
            self.store.update(jid, where="state='running'", state=JobState.CANCELLED, finished_at=time.time(),
                              stage="cancelled", error="cancelled by the user")
