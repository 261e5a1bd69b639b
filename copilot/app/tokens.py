"""API tokens for team mode: a name, a role, an optional expiry, and the SHA-256
of the secret (the secret itself is shown once, when made, and never stored).
Kept in ``<data dir>/tokens.json`` (mode 0600)."""
from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lqmf.tools.errors import InvalidInput

FILE = "tokens.json"
PREFIX = "lqmf_"


class Role(enum.StrEnum):
    ADMIN = "admin"     # everything: tokens, webhooks, the audit log, exports to a server path
    USER = "user"       # run and read: submit, cancel, retry, chat
    VIEWER = "viewer"   # read only


class Permission(enum.StrEnum):
    READ = "read"
    RUN = "run"
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.USER: frozenset({Permission.READ, Permission.RUN}),
    Role.VIEWER: frozenset({Permission.READ}),
}


@dataclass
class Token:
    name: str
    role: Role
    sha256: str
    created_at: float
    expires_at: float | None = None

    def can(self, perm: Permission) -> bool:
        return perm in GRANTS[self.role]

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at


def path() -> Path:
    from lqmf.tools.config import data_dir

    return data_dir() / FILE


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def load() -> list[Token]:
    p = path()
    if not p.exists():
        return []
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        return [Token(**{**t, "role": Role(t["role"])}) for t in raw]
    except (ValueError, TypeError, KeyError) as e:
        raise InvalidInput(f"the token file {p} cannot be read ({e})",
                           "fix or remove it, then add the tokens again with `lqmf token add`") from None


def _save(tokens: list[Token]) -> None:
    p = path()
    tmp = p.with_name(f".{p.name}.partial-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump([{**asdict(t), "role": t.role.value} for t in tokens], f, indent=1)
    os.replace(tmp, p)


def parse_duration(text: str) -> float:
    """"30d", "12h", "90m", "45s" -> seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    t = text.strip().lower()
    if len(t) >= 2 and t[-1] in units and t[:-1].replace(".", "", 1).isdigit() and float(t[:-1]) > 0:
        return float(t[:-1]) * units[t[-1]]
    raise InvalidInput(f"cannot read the duration {text!r}", "write it like 30d, 12h, 90m or 45s")


def add(name: str, role: str, expires_in: str | None = None) -> str:
    """Make a token; returns its secret (shown once)."""
    from lqmf.copilot.app import audit

    name = name.strip()
    if not name or not all(c.isalnum() or c in "-_.@" for c in name) or len(name) > 64:
        raise InvalidInput(f"the token name {name!r} is not usable", "use letters, digits, - _ . @ (up to 64)")
    if role not in set(Role):
        raise InvalidInput(f"there is no role {role!r}", "use admin, user or viewer")
    tokens = load()
    if any(t.name == name for t in tokens):
        raise InvalidInput(f"a token named {name} exists already", f"remove it first: lqmf token remove {name}")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = time.time()
    tokens.append(Token(name, Role(role), _digest(secret), now, now + parse_duration(expires_in) if expires_in else None))
    _save(tokens)
    audit.record("token.add", f"{name} role={role}" + (f" expires_in={expires_in}" if expires_in else ""))
    return secret


def remove(name: str) -> None:
    from lqmf.copilot.app import audit

    tokens = load()
    if not any(t.name == name for t in tokens):
        raise InvalidInput(f"there is no token named {name}", "see `lqmf token list`")
    _save([t for t in tokens if t.name != name])
    audit.record("token.remove", name)


def configured() -> bool:
    return bool(load())


class AuthError(Exception):
    """Why a request's token was not accepted (``status``: 401 or 403)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def authenticate(secret: str | None, tokens: list[Token] | None = None) -> Token:
    """The token for this secret, or AuthError (missing, unknown, expired)."""
    if not secret:
        raise AuthError(401, "This server needs an API token: send `Authorization: Bearer <token>` "
                             "(an admin makes one with `lqmf token add NAME --role user`).")
    d = _digest(secret)
    for t in tokens if tokens is not None else load():
        if hmac.compare_digest(t.sha256, d):
            if t.expired:
                raise AuthError(401, f"The token {t.name} expired on {time.strftime('%Y-%m-%d %H:%M', time.localtime(t.expires_at))}: "
                                     "ask an admin for a new one (`lqmf token add`).")
            return t
    raise AuthError(401, "That API token is not known here: check it, or ask an admin for one (`lqmf token add`).")
