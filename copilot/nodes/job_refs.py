"""Jobs named by their place in the chat: "cancel job 2", "how is job #1 doing", "the third job".

A job's id is ten hex digits (tools/scheduler/jobs.py), so a number of at most three digits said
in the chat is never an id: it is the row of the last jobs table this chat showed, when the last
list shown was one, else the Nth job this conversation submitted. The reply then names the id.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lqmf.copilot.nodes.words import ORDINALS_IN, norm
from lqmf.copilot.state import ChatState, Tracked

_NUMBER = re.compile(r"^\d{1,3}$")
_ORDINAL_JOB = re.compile(r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|last)\s+job\b")


def active(state: ChatState) -> list[Tracked]:
    """This conversation's jobs that are still queued or running, and not yet announced as done."""
    from lqmf.copilot.app.types import ACTIVE, Status

    return [t for t in state.get("tracked") or [] if (t.get("status") is None or Status(t["status"]) in ACTIVE)
            and not t.get("announced")]


def is_job_row(row: dict) -> bool:
    return "kind" in row and "status" in row and "args" in row


def number_said(req: dict, text: str) -> int | None:
    """The job's place the user said (1-based, -1 for "the last job"), or None."""
    said = str(req.get("job_id") or "")
    if _NUMBER.match(said):
        return int(said)
    m = _ORDINAL_JOB.search(norm(text))
    return ORDINALS_IN[m.group(1)] if m and not said else None


def label(job: Mapping[str, Any]) -> str:
    """A job in a few words ("quantize gemma3-270m Q4_0"): a tracked job of the chat or a jobs-table row."""
    args = job.get("args") or {}
    return " ".join(str(x) for x in (job.get("tool") or job.get("kind"), job.get("model") or args.get("model"),
                                     job.get("quant_type") or args.get("quant_type")) if x)


def by_number(state: ChatState, n: int) -> tuple[str | None, str]:
    """(the job's id, "") or (None, one sentence saying which numbers there are)."""
    listing = state.get("listing") or []
    if listing and all(is_job_row(r) for r in listing):
        jobs, where = [dict(r, job_id=r["id"]) for r in listing], "the last jobs list"
    else:
        jobs, where = [dict(t) for t in state.get("tracked") or []], "this conversation"
    if jobs and (1 <= n <= len(jobs) or n == -1):
        return str(jobs[n - 1 if n > 0 else -1]["job_id"]), ""
    if not jobs:
        return None, (f"This conversation has not started job {n} or any other; say 'jobs' to see the queue "
                      "with the job ids.")
    listed = "; ".join(f"{i}: {j['job_id']} ({label(j)})" for i, j in enumerate(jobs[:5], 1))
    more = f" and {len(jobs) - 5} more" if len(jobs) > 5 else ""
    count = f"{len(jobs)} job" + ("s" if len(jobs) != 1 else "")
    return None, (f"There is no job {n} in {where}, which has {count} ({listed}{more}); "
                  "say a number from that list or a job id.")
