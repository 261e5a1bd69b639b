"""Live events: a watcher thread polls the job queue (through the application
layer), publishes what changed (job progress and state, new records, resource
samples of running jobs) to every server-sent-events subscriber, and hands
finished and failed jobs to the webhook dispatcher. Events carry increasing
ids, and the last ``KEEP`` are kept so a client that reconnects with
``Last-Event-ID`` misses none."""
from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading
import time
from dataclasses import asdict
from typing import Any

from lqmf.copilot.app import jobs as app_jobs
from lqmf.copilot.app.webhooks import Dispatcher, Event

KEEP = 2000
log = logging.getLogger(__name__)


class Hub:
    """Fan-out of events to asyncio subscribers, from any thread."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._recent: collections.deque[dict] = collections.deque(maxlen=KEEP)
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        self._lock = threading.Lock()

    def publish(self, kind: str, data: dict) -> dict:
        with self._lock:
            ev = {"id": next(self._ids), "type": kind, "at": time.time(), "data": data}
            self._recent.append(ev)
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(_offer, q, ev)
            except RuntimeError:  # that client's loop is closed
                self._subs.discard((loop, q))
        return ev

    def subscribe(self, after: int | None = None) -> tuple[asyncio.Queue, list[dict]]:
        loop = asyncio.get_running_loop()
        q: asyncio.Queue = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subs.add((loop, q))
            backlog = [e for e in self._recent if after is not None and e["id"] > after]
        return q, backlog

    def unsubscribe(self, q: asyncio.Queue) -> None:
        with self._lock:
            self._subs = {s for s in self._subs if s[1] is not q}

    def recent(self, kind: str | None = None) -> list[dict]:
        with self._lock:
            return [e for e in self._recent if kind is None or e["type"] == kind]


def _offer(q: asyncio.Queue, ev: dict) -> None:
    if q.full():  # a slow client loses the oldest event, not the newest
        q.get_nowait()
    q.put_nowait(ev)


def job_event(v: app_jobs.JobView) -> dict:
    j = v.job
    return {**v.row(), "what": v.what, "created_at": getattr(j, "created_at", None),
            "started_at": getattr(j, "started_at", None), "finished_at": getattr(j, "finished_at", None),
            "batch": getattr(j, "batch", None), "pid": getattr(j, "pid", None)}


class Watcher:
    """Polls the queue every ``interval`` seconds in a daemon thread."""

    def __init__(self, app: Any, hub: Hub, dispatcher: Dispatcher, *, interval: float = 0.5,
                 on_record=None) -> None:
        self.app, self.hub, self.dispatcher, self.interval = app, hub, dispatcher, interval
        self.on_record = on_record
        self._seen: dict[str, tuple] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lqmf-watcher", daemon=True)
        from lqmf.copilot.app.resources import Sampler

        self.sampler = Sampler()

    def start(self) -> None:
        self._prime()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _prime(self) -> None:
        """Jobs finished before the server started are not announced again."""
        try:
            for v in app_jobs.list_jobs(self.app, limit=500, newest_first=True):
                self._seen[v.id] = (v.status.value, v.progress, v.stage)
        except Exception as e:  # noqa: BLE001 - a damaged queue shows on the first poll
            log.warning("the job queue could not be read: %s", e)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - keep watching; the API reports the real error
                log.warning("watching the job queue failed: %s", e)

    def poll(self) -> None:
        views = app_jobs.list_jobs(self.app, limit=500, newest_first=True)
        running = []
        for v in views:
            key = (v.status.value, v.progress, v.stage)
            before = self._seen.get(v.id)
            if before == key:
                if v.status.value == "running":
                    running.append((v.id, v.kind, getattr(v.job, "pid", None)))
                continue
            self._seen[v.id] = key
            data = job_event(v)
            self.hub.publish("job", data)
            if v.status.value == "running":
                running.append((v.id, v.kind, data["pid"]))
            if v.done and (before is None or before[0] != v.status.value):
                self._finished(v, data)
        for s in self.sampler.sample(running):
            self.hub.publish("resource", asdict(s))

    def _finished(self, v: app_jobs.JobView, data: dict) -> None:
        if v.status.value == "succeeded":
            self.dispatcher.fire(Event.JOB_FINISHED, data)
            self.hub.publish("record", {"job": v.id, "kind": v.kind, "result": v.result})
            if self.on_record:
                self.on_record()
        else:
            self.dispatcher.fire(Event.JOB_FAILED, data)
