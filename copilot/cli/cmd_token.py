"""`lqmf token add|list|remove`: API tokens for `lqmf serve` (stored hashed)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("token", help="API tokens for `lqmf serve` (admin, user, viewer)",
                       description="Team mode: `lqmf token add NAME --role user [--expires 30d]` prints a new token "
                                   "once (only its hash is kept); `lqmf token list`; `lqmf token remove NAME`.")
    p.add_argument("action", choices=["add", "list", "remove"])
    p.add_argument("name", nargs="?", help="who the token is for")
    p.add_argument("--role", default="user", choices=["admin", "user", "viewer"],
                   help="admin: everything; user: run and read; viewer: read (default user)")
    p.add_argument("--expires", metavar="DURATION", help="e.g. 30d, 12h (default: never)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys
    import time

    from lqmf.copilot.app import tokens
    from lqmf.tools.errors import InvalidInput

    if args.action == "list":
        for t in tokens.load():
            exp = "never" if t.expires_at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t.expires_at))
            print(f"{t.name}\t{t.role.value}\texpires {exp}{' (expired)' if t.expired else ''}")
        return 0
    if not args.name:
        raise InvalidInput(f"`lqmf token {args.action}` needs a name", f"e.g. lqmf token {args.action} alice")
    if args.action == "add":
        secret = tokens.add(args.name, args.role, args.expires)
        print(secret)
        print(f"made a {args.role} token for {args.name}; it is shown only now (send it as "
              "`Authorization: Bearer <token>`)", file=sys.stderr)
        return 0
    tokens.remove(args.name)
    print(f"removed the token {args.name}", file=sys.stderr)
    return 0
