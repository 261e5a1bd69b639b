"""The one status vocabulary: the state of a job, and the status of the
experiment record it writes. The scheduler (``JobState``), the store
(``records.Status``) and every front end use this enum."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Finished, one way or another: it will not change again by itself."""
        return self in FINAL

    @classmethod
    def of(cls, value: "Status | str | None") -> "Status | None":
        """The status a value names, or None (an empty or unknown value)."""
        try:
            return cls(str(getattr(value, "value", value)))
        except ValueError:
            return None


FINAL: frozenset[Status] = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
ACTIVE: frozenset[Status] = frozenset({Status.QUEUED, Status.RUNNING})
