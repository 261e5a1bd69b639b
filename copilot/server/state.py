"""What one running server holds: the App, the event hub and watcher, the
webhook dispatcher, the token cache, the chat sessions, a cache of records for
the dashboard."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from lqmf.copilot.app.webhooks import Dispatcher
from lqmf.copilot.server.security import TokenCache
from lqmf.copilot.server.stream import Hub, Watcher

MAX_SESSIONS = 64


class RecordCache:
    """Every record as a dict, newest first, for the dashboard pages: read again after a
    job finished (the watcher says so) or after ``ttl`` seconds."""

    def __init__(self, app: Any, ttl: float = 10.0) -> None:
        self.app, self.ttl = app, ttl
        self._rows: list[dict] | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._rows = None

    def rows(self) -> list[dict]:
        from lqmf.copilot.app import query

        with self._lock:
            if self._rows is None or time.monotonic() - self._at > self.ttl:
                recs = query.records(self.app)
                self._rows = sorted((r.to_dict() for r in recs), key=lambda r: -(r.get("created_at") or 0))
                self._at = time.monotonic()
            return self._rows


@dataclass
class ServerState:
    app: Any
    body_limit: int = 1 << 20
    poll_s: float = 0.5
    hub: Hub = field(default_factory=Hub)
    dispatcher: Dispatcher = field(default_factory=Dispatcher)
    tokens: TokenCache = field(default_factory=TokenCache)
    sessions: "OrderedDict[str, Any]" = field(default_factory=OrderedDict)
    sessions_lock: threading.Lock = field(default_factory=threading.Lock)
    records: RecordCache = field(init=False)
    watcher: Watcher = field(init=False)

    def __post_init__(self) -> None:
        self.records = RecordCache(self.app)
        self.watcher = Watcher(self.app, self.hub, self.dispatcher, interval=self.poll_s,
                               on_record=self.records.invalidate)

    def session(self, conversation_id: str | None) -> Any:
        """The chat session of that conversation (made on first use; the oldest idle one is dropped)."""
        from lqmf.copilot.session import Session

        with self.sessions_lock:
            if conversation_id and conversation_id in self.sessions:
                self.sessions.move_to_end(conversation_id)
                return self.sessions[conversation_id]
            s = Session(thread_id=conversation_id, app=self.app)
            self.sessions[s.thread_id] = s
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
            return s
