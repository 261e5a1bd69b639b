"""Who may call what: a body-size limit for every request, API tokens with roles
(``app.tokens``; required on every route once any token exists, refused
otherwise only off loopback, where ``run`` will not start), and the identity
that the audit log records."""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass

from lqmf.copilot.app.tokens import AuthError, Permission, Role, Token, authenticate, load

COOKIE = "lqmf_token"


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Identity:
    name: str
    role: Role

    def can(self, perm: Permission) -> bool:
        from lqmf.copilot.app.tokens import GRANTS

        return perm in GRANTS[self.role]


LOCAL = Identity("local", Role.ADMIN)     # no tokens configured: the one user on this machine


class TokenCache:
    """The token file, read again when it changes (tokens added while serving work at once)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._tokens: list[Token] = []

    def tokens(self) -> list[Token]:
        from lqmf.copilot.app.tokens import path

        p = path()
        try:
            st = p.stat()
            key: tuple | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        if key != self._key:
            self._tokens, self._key = (load() if key else []), key
        return self._tokens


def secret_from(headers, cookies) -> str | None:
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return cookies.get(COOKIE)


def identify(cache: TokenCache, headers, cookies) -> Identity:
    tokens = cache.tokens()
    if not tokens:
        return LOCAL
    t = authenticate(secret_from(headers, cookies), tokens)
    return Identity(t.name, t.role)


def refuse(ident: Identity, perm: Permission) -> None:
    if not ident.can(perm):
        raise AuthError(403, f"The token {ident.name} has the role {ident.role.value}, which may not do this "
                             f"(it needs {'admin' if perm is Permission.ADMIN else 'user or admin'}).")


class BodyLimit:
    """Pure ASGI middleware: a body over ``limit`` bytes (by Content-Length, or as it
    streams in) is answered 413 before any route runs."""

    def __init__(self, app: Callable, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                return await self._answer(send, 400, "The Content-Length header is not a number.")
            if too_big:
                return await self._answer(send, 413, self._message())
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and length is None:
            return await self.app(scope, receive, send)
        # read the body first (at most limit + 1 bytes), then replay it to the app
        chunks, seen, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                return  # the client went away
            chunks.append(msg.get("body", b""))
            seen += len(chunks[-1])
            more = msg.get("more_body", False)
            if seen > self.limit:
                return await self._answer(send, 413, self._message())
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed():
            return replay.pop() if replay else await receive()

        return await self.app(scope, replayed, send)

    def _message(self) -> str:
        return f"The request body is larger than this server accepts ({self.limit // 1024} KiB): send less."

    async def _answer(self, send, status: int, message: str):
        from lqmf.copilot.server.errors import body

        data = json.dumps(body(status, message, "RequestTooLarge" if status == 413 else "BadRequest")).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
