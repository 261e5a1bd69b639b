"""`--notify`: when a long command ends (with --queue: when its queued jobs end),
ring the terminal bell and send a desktop notification with notify-send where
there is one. Never fails the command."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time


def wait_for(app, ids: list[str], poll_s: float = 1.0) -> list[str]:
    """Block until every job in ``ids`` is done; their final states."""
    from lqmf.copilot.app import jobs

    while True:
        views = [jobs.get(app, i) for i in ids]
        if all(v is None or v.done for v in views):
            return [v.status.value if v else "gone" for v in views]
        time.sleep(poll_s)


def send(title: str, body: str) -> bool:
    """The bell on a terminal, and notify-send when present; True when notify-send ran."""
    if sys.stderr.isatty():
        sys.stderr.write("\a")
        sys.stderr.flush()
    print(f"{title}: {body}", file=sys.stderr)
    exe = shutil.which("notify-send")
    if not exe:
        return False
    try:
        subprocess.run([exe, "--app-name=lqmf", title, body], timeout=5, check=False, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return True


def after(args, code: int, error: str | None = None) -> None:
    """Called by the CLI's main once the command returned (or failed)."""
    if not getattr(args, "notify", False):
        return
    what = f"lqmf {args.command}"
    queued = getattr(args, "queued_ids", None)
    if queued and code == 0 and error is None:
        states = wait_for(args.app, queued)
        ok = all(s == "succeeded" for s in states)
        send(what, f"{len(queued)} job(s) {'succeeded' if ok else 'ended: ' + ', '.join(states)}")
        return
    send(what, "finished" if code == 0 and error is None else f"failed: {error or f'exit {code}'}")
