"""The chat loop. Terminal mode: prompt_toolkit with a history file,
completion, a bottom toolbar showing the running job, and announcements of
finished jobs above the prompt. Plain mode (stdin not a TTY, ``--script``):
reads lines, echoes them, and waits for this turn's jobs so the transcript
is complete. Ctrl-C cancels the current action, never the session."""
from __future__ import annotations

import re
import sys
import threading
import time
from typing import TextIO

from lqmf.copilot.commands import Commands, Quit
from lqmf.copilot.io import IO

MAX_INPUT = 2000
PROMPT = "> "
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(raw: str) -> tuple[str, str | None]:
    """Text fit for the parser, and a note when something was dropped."""
    text = " ".join(_CONTROL.sub(" ", _ANSI.sub("", raw)).split())
    if len(text) > MAX_INPUT:
        return text[:MAX_INPUT], f"That was long ({len(text)} characters); I read the first {MAX_INPUT}."
    return text, None


# the tools whose calls queue jobs that a plain-mode chat waits for (and then announces)
JOB_TOOLS = ("quantize", "benchmark", "tune")

class Repl:
    def __init__(self, session, io: IO, interactive: bool = False, wait: bool = True, wait_timeout_s: float = 900):
        self.session = session
        self.io = io
        self.interactive = interactive
        self.wait = wait and not interactive
        self.wait_timeout_s = wait_timeout_s
        self.commands = Commands(self)
        self._toolbar = ""
        self._stop = threading.Event()
        self.last_turn = None
        self.voice = None          # copilot.voice.frontend.VoiceFrontEnd, made by the first /voice
        self.voice_mode = False    # `lqmf chat --voice`: an empty line is push-to-talk

    # ---- one input --------------------------------------------------------------
    def handle(self, raw: str, via: str = "text") -> None:
        """One line, whatever it is: never a traceback. ``via="voice"`` for a transcript."""
        from lqmf.tools.errors import LqmfError, from_backend

        try:
            self._handle(raw, via)
        except (KeyboardInterrupt, Quit):
            raise
        except LqmfError as e:
            self.io.error(str(e))
        except Exception as e:  # a bug somewhere below: one sentence, the chat goes on
            self.io.error(str(from_backend(e, "the copilot")))

    def _handle(self, raw: str, via: str = "text") -> None:
        self.last_turn = None
        text, note = clean(raw)
        if note:
            self.io.warning(note)
        if self.voice is not None and self.voice.pending is not None and not text.startswith("/"):
            text = self.voice.answer(text, self.io.output)   # "I heard: '...' — is that right?"
            if text is None:
                return
        if text.startswith("/"):
            self.commands.run(text)
            return
        if not text and self.voice_mode and self.session.pending() is None:
            self.commands.run("/voice")
            return
        self.turn(text, via)

    def turn(self, text: str, via: str = "text") -> None:
        """One utterance (typed, or a voice transcript) through the Session."""
        if not text and self.session.pending() is None:
            self.session.tick(self.io.blocks)
            return
        turn = self.session.send(text, on_blocks=self.io.blocks, via=via)
        self.last_turn = turn
        if turn.question:
            self.io.question(turn.question)
        if self.wait and any(c["tool"] in JOB_TOOLS for c in turn.calls):
            self.wait_for_jobs()

    def wait_for_jobs(self) -> None:
        """Plain mode: block until this conversation's jobs finish, then announce
        them. Ctrl-C here cancels those jobs (the current action), not the chat."""
        from lqmf.copilot.app import jobs as app_jobs

        end = time.monotonic() + self.wait_timeout_s
        try:
            while time.monotonic() < end:
                active = [t for t in self.session.active_jobs()
                          if (view := app_jobs.get(self.session.app, t["job_id"])) and not view.done]
                if not active:
                    break
                time.sleep(0.1)
            else:
                self.io.output(f"Still running after {self.wait_timeout_s:.0f} s; going on (see /jobs).")
        except KeyboardInterrupt:
            self.cancel_active()
        self.session.tick(self.io.blocks)

    def cancel_active(self) -> None:
        from lqmf.copilot.app import jobs as app_jobs
        from lqmf.copilot.nodes import job_refs

        for t in self.session.active_jobs():
            what = job_refs.label(t)
            try:
                view = app_jobs.cancel(self.session.app, t["job_id"])
                self.io.output(f"Cancelled job {t['job_id']} ({what}): {view.status.value}.")
            except Exception as e:  # it finished meanwhile, or the store is gone: say so and go on
                self.io.output(f"Job {t['job_id']} ({what}) was not cancelled: {e}")

    def interrupted(self) -> None:
        """Ctrl-C outside a wait: the turn in progress is abandoned."""
        self.io.output("Cancelled the current action.")

    def show_resumed(self) -> None:
        """After a restart: the true state of this conversation's jobs, and its pending question."""
        from lqmf.copilot.app import jobs as app_jobs

        from lqmf.copilot.journal import journaled
        from lqmf.copilot.render import jobs_table

        s = self.session
        if s.cut_off():
            self.io.output("The last turn was cut off before it finished; nothing of it was repeated.")
        ids = list(dict.fromkeys([t["job_id"] for t in s.values().get("tracked") or []] +
                                 [j["job_id"] for j in journaled(s.thread_id)]))
        rows = [v.row() for v in (app_jobs.get(s.app, i) for i in ids) if v]
        if rows:
            self.io.output("Jobs of this conversation, as the job store has them now:")
            self.io.blocks([jobs_table(rows)])
        from lqmf.copilot.tutoring import resumed_note

        note = resumed_note(s.values())
        if note:
            self.io.output(note)
        q = s.pending()
        if q:
            self.io.output("You were asked:")
            self.io.question(q)

    # ---- loops ------------------------------------------------------------------
    def run(self, stream: TextIO | None = None) -> int:
        if self.session.resumed:
            self.io.output(f"Resuming conversation {self.session.thread_id}.")
            self.show_resumed()
        if self.interactive:
            return self._run_tty()
        return self._run_plain(stream or sys.stdin)

    def _run_plain(self, stream: TextIO) -> int:
        while True:
            try:
                raw = stream.readline()
            except KeyboardInterrupt:
                continue
            if not raw:
                return 0
            try:
                self.io.echo(PROMPT, raw.rstrip("\n"))
                self.handle(raw.rstrip("\n"))
            except KeyboardInterrupt:
                self.interrupted()
            except Quit:
                return 0

    def toolbar(self) -> str:
        self.session.start_loading()  # the first render has drawn the prompt: load the graph now
        return self._toolbar or " no jobs running · /help for commands"

    def _poll(self, app_ref: list) -> None:
        from lqmf.copilot.app import jobs as app_jobs

        while not self._stop.wait(1.0):
            try:
                active = self.session.active_jobs()
                views = [v for v in (app_jobs.get(self.session.app, t["job_id"]) for t in active) if v]
                rows = [v.row() for v in views]
                running = [v.row() for v in views if not v.done]
                parts = []
                for r in running[:2]:
                    pct = f" {progress_bar(r['progress'])}" if isinstance(r.get("progress"), (int, float)) else ""
                    parts.append(f"job {r['id']} {r['kind']} {r['status']}{pct} {r.get('stage') or ''}".rstrip())
                self._toolbar = " " + " · ".join(parts) if parts else ""
                if len(running) < len(rows) and self.session.lock.acquire(blocking=False):
                    try:
                        self.session.tick(self.io.blocks)
                    finally:
                        self.session.lock.release()
                if app_ref and app_ref[0].app.is_running:
                    app_ref[0].app.invalidate()
            except Exception:  # the poller must never take the session down
                continue

    def _run_tty(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        from pathlib import Path

        from lqmf.copilot.app.models import catalog, data_dir
        from lqmf.copilot.app.types import quant_type_names

        words = ["/" + n for n in self.commands.names()] + quant_type_names() + \
            [e["name"] for e in catalog()] + ["quantize", "benchmark", "compare", "explain", "cancel"]
        ps: PromptSession[str] = PromptSession(history=FileHistory(str(Path(data_dir()) / "chat_history")),
                           completer=WordCompleter(words, ignore_case=True, WORD=True),
                           bottom_toolbar=self.toolbar, refresh_interval=1.0)
        self.io.output("LQMF Copilot. Ask in plain words; /help lists commands, /quit leaves.")
        poller = threading.Thread(target=self._poll, args=([ps],), daemon=True)
        poller.start()
        try:
            with patch_stdout(raw=True):
                while True:
                    try:
                        raw = ps.prompt(PROMPT)
                    except KeyboardInterrupt:
                        continue
                    except EOFError:
                        return 0
                    try:
                        self.handle(raw)
                    except KeyboardInterrupt:
                        self.interrupted()
                    except Quit:
                        return 0
        finally:
            self._stop.set()


def progress_bar(fraction: float, width: int = 12) -> str:
    """A text progress bar for the toolbar: ``[█████░░░░░░░] 42%``."""
    fraction = min(1.0, max(0.0, float(fraction)))
    full = round(fraction * width)
    return f"[{'█' * full}{'░' * (width - full)}] {fraction * 100:.0f}%"
