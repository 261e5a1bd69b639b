"""Webhooks: a URL and the events it wants (``Event``), deliveries signed with
HMAC-SHA256 over the exact body (header ``X-LQMF-Signature: sha256=<hex>``),
retried with exponential backoff, every attempt kept in a delivery log
(``<data dir>/webhook_deliveries.jsonl``). Hooks live in ``webhooks.json``
(mode 0600: it holds each hook's signing secret)."""
from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
import queue
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lqmf.tools.errors import InvalidInput

FILE = "webhooks.json"
LOG = "webhook_deliveries.jsonl"
SIGNATURE_HEADER = "X-LQMF-Signature"


class Event(enum.StrEnum):
    JOB_FINISHED = "job.finished"      # a job succeeded
    JOB_FAILED = "job.failed"          # a job failed (or was cancelled)
    GATE_REJECTED = "gate.rejected"    # a result missed the limits a gate check asked for


@dataclass
class Hook:
    url: str
    events: list[str]
    secret: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    created_at: float = field(default_factory=time.time)

    def public(self) -> dict:
        """The hook without its secret."""
        return {"id": self.id, "url": self.url, "events": list(self.events), "created_at": self.created_at}


def _dir() -> Path:
    from lqmf.tools.config import data_dir

    return data_dir()


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"a webhook URL must be http:// or https:// with a host, not {url[:100]!r}",
                           "e.g. https://ci.example.com/lqmf-hook")
    return url.strip()


def check_events(events: list[str] | None) -> list[str]:
    if not events:
        return [e.value for e in Event]
    bad = [e for e in events if e not in set(Event)]
    if bad:
        raise InvalidInput(f"unknown webhook event {bad[0]!r}", "use " + ", ".join(e.value for e in Event))
    return list(dict.fromkeys(events))


def load() -> list[Hook]:
    p = _dir() / FILE
    if not p.exists():
        return []
    try:
        return [Hook(**h) for h in json.loads(p.read_text(encoding="utf-8"))]
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"the webhook file {p} cannot be read ({e})", "fix or remove it") from None


def _save(hooks: list[Hook]) -> None:
    p = _dir() / FILE
    tmp = p.with_name(f".{p.name}.partial-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump([asdict(h) for h in hooks], f, indent=1)
    os.replace(tmp, p)


_lock = threading.Lock()


def add(url: str, events: list[str] | None = None, secret: str | None = None) -> Hook:
    """Register a hook (``secret``: the signing key; made when not given, shown once)."""
    from lqmf.copilot.app import audit

    hook = Hook(check_url(url), check_events(events), secret or secrets.token_hex(32))
    with _lock:
        _save([*load(), hook])
    audit.record("webhook.add", f"{hook.id} {hook.url} {','.join(hook.events)}")
    return hook


def remove(hook_id: str) -> None:
    from lqmf.copilot.app import audit

    with _lock:
        hooks = load()
        if not any(h.id == hook_id for h in hooks):
            raise InvalidInput(f"there is no webhook {hook_id}", "see GET /api/webhooks")
        _save([h for h in hooks if h.id != hook_id])
    audit.record("webhook.remove", hook_id)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: the header matches the body under the shared secret."""
    return bool(header) and hmac.compare_digest(sign(secret, body), str(header))


def deliveries(limit: int = 200) -> list[dict]:
    p = _dir() / LOG
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines()[-limit:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _log(entry: dict) -> None:
    with _lock, open(_dir() / LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")




def deliver(hook: Hook, event: str, payload: dict, *, attempts: int = 4, backoff_s: float = 0.5,
            timeout_s: float = 5.0) -> bool:
    """POST the event; retry non-2xx answers and connection errors (backoff 0.5 s, 1 s, 2 s ...).
    Redirects are not followed. True when one attempt got a 2xx."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    delivery = uuid.uuid4().hex[:12]
    body = json.dumps({"event": event, "delivery": delivery, "sent_at": time.time(), "data": payload},
                      sort_keys=True, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "lqmf-webhooks/1", "X-LQMF-Event": event,
               "X-LQMF-Delivery": delivery, SIGNATURE_HEADER: sign(hook.secret, body)}
    for n in range(1, attempts + 1):
        status, error = None, None
        try:
            req = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
            with opener.open(req, timeout=timeout_s) as resp:
                status = resp.status
        except urllib.error.HTTPError as e:
            status, error = e.code, f"HTTP {e.code}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            error = str(getattr(e, "reason", e))[:200]
        ok = status is not None and 200 <= status < 300
        _log({"at": time.time(), "hook": hook.id, "url": hook.url, "event": event, "delivery": delivery,
              "attempt": n, "status": status, "ok": ok, "error": None if ok else (error or f"HTTP {status}")})
        if ok:
            return True
        if n < attempts:
            time.sleep(backoff_s * 2 ** (n - 1))
    return False


class Dispatcher:
    """Delivers events in a background thread, so no caller waits on a slow receiver."""

    def __init__(self, *, attempts: int = 4, backoff_s: float = 0.5):
        self.attempts, self.backoff_s = attempts, backoff_s
        self._q: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def fire(self, event: Event | str, payload: dict) -> int:
        """Queue the event for every hook that wants it; how many."""
        hooks = [h for h in load() if str(event) in h.events]
        for h in hooks:
            self._q.put((h, str(event), payload))
        with self._starting:
            if hooks and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()
        return len(hooks)

    def _run(self) -> None:
        while True:
            hook, event, payload = self._q.get()
            try:
                deliver(hook, event, payload, attempts=self.attempts, backoff_s=self.backoff_s)
            finally:
                self._q.task_done()

    def join(self) -> None:
        self._q.join()
