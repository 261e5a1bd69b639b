"""Which queued jobs start next, given what runs and what is free.

Pure functions of their inputs (no store, no clock), so the policy is tested
table-driven. Order: higher priority first; among equal priority, jobs that
share a prerequisite (one model's F16 conversion) run back to back, the
oldest first (it creates the shared file); then oldest first. A job whose
shared prerequisite is being made by a running job waits instead of
converting the same model a second time.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lqmf.tools.fsutil import human_bytes
from lqmf.tools.scheduler.jobs import Job, JobState
from lqmf.tools.scheduler.resources import Budget


@dataclass
class Decision:
    start: list[Job] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)       # job id -> why it waits
    skip: dict[str, str] = field(default_factory=dict)        # job id -> why it will never run


def effective_cpus(job: Job, budget: Budget) -> int:
    return max(1, min(job.needs.cpus or 1, budget.cores))


def order(queued: list[Job]) -> list[Job]:
    group_first: dict[tuple[int, str], float] = {}
    for j in queued:
        if j.shared_key:
            k = (int(j.priority), j.shared_key)
            group_first[k] = min(group_first.get(k, j.created_at), j.created_at)

    def key(j: Job):
        g = group_first.get((int(j.priority), j.shared_key), j.created_at) if j.shared_key else j.created_at
        return (-int(j.priority), g, j.created_at, j.id)

    return sorted(queued, key=key)


def choose(queued: list[Job], running: list[Job], budget: Budget, free_ram: int, now: float, *,
           dep_state: Callable[[str], JobState | None] = lambda _id: None,
           shared_ready: Callable[[str], bool] = lambda _key: True) -> Decision:
    d = Decision()
    used_ram = sum(j.needs.ram_bytes for j in running)
    used_cpus = sum(effective_cpus(j, budget) for j in running)
    slots = budget.max_jobs - len(running)
    busy_keys = {j.shared_key for j in running if j.shared_key}
    for job in order(queued):
        if job.not_before and job.not_before > now:
            continue
        if job.depends_on:
            st = dep_state(job.depends_on)
            if st in (JobState.FAILED, JobState.CANCELLED, None):
                d.skip[job.id] = f"job {job.depends_on} it needs did not succeed"
                continue
            if st is not JobState.SUCCEEDED:
                continue
        need = job.needs.ram_bytes
        if need > budget.ram_bytes:
            d.notes[job.id] = (f"needs about {human_bytes(need)} of RAM, more than this worker's budget "
                               f"of {human_bytes(budget.ram_bytes)}")
            continue
        if job.shared_key and job.shared_key in busy_keys and not shared_ready(job.shared_key):
            d.notes[job.id] = "waits for a running job that makes the same F16 conversion"
            continue
        cpus = effective_cpus(job, budget)
        if slots <= 0 or used_cpus + cpus > budget.cores:
            break  # keep priority order: nothing lower jumps ahead for cores
        if used_ram + need > budget.ram_bytes or need > free_ram:
            d.notes[job.id] = (f"waits for {human_bytes(need)} of RAM "
                               f"({human_bytes(max(0, min(budget.ram_bytes - used_ram, free_ram)))} free in the budget)")
            break  # keep priority order: a smaller job does not overtake it
        d.start.append(job)
        used_ram += need
        used_cpus += cpus
        slots -= 1
        if job.shared_key:
            busy_keys.add(job.shared_key)
    return d
