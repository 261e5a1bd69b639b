"""Slash commands. Each is a ``cmd_<name>`` method whose docstring is its
help line; adding a method adds the command (tutorials and voice plug in the
same way)."""
from __future__ import annotations

import difflib

from lqmf.copilot import render


class Quit(Exception):
    """Raised by /quit to leave the REPL."""


class Commands:
    def __init__(self, repl):
        self.repl = repl

    @property
    def io(self):
        return self.repl.io

    def names(self) -> list[str]:
        return sorted(n[4:] for n in dir(self) if n.startswith("cmd_"))

    def run(self, line: str) -> None:
        name, _, arg = line[1:].strip().partition(" ")
        fn = getattr(self, f"cmd_{name.lower()}", None) if name else None
        if fn is None:
            close = difflib.get_close_matches(name.lower(), self.names(), n=1)
            hint = f"did you mean /{close[0]}? " if close else ""
            self.io.output(f"Unknown command /{name[:40]}; {hint}/help lists the commands.")
            return
        fn(arg.strip())

    def cmd_help(self, arg: str = "") -> None:
        """Show the commands and what you can ask."""
        from lqmf.copilot.explain import HELP

        self.io.output(HELP.split("\nLong work")[0])
        rows = [[f"/{n}", (getattr(self, f"cmd_{n}").__doc__ or "").strip().splitlines()[0]] for n in self.names()]
        self.io.blocks([render.table("Commands", ["command", "what it does"], rows)])

    def cmd_jobs(self, arg: str = "") -> None:
        """Show the job queue (running, queued and recent jobs)."""
        from lqmf.copilot.tools_registry import ToolContext, jobs

        self.io.blocks(jobs(ToolContext(self.repl.session.app), job_id=arg or None).blocks)

    def cmd_history(self, arg: str = "") -> None:
        """Show this conversation so far."""
        hist = self.repl.session.values().get("history") or []
        if not hist:
            self.io.output("Nothing said yet.")
            return
        n = int(arg) if arg.isdigit() else 20
        for h in hist[-n:]:
            who = "you" if h["role"] == "user" else "copilot"
            self.io.output(f"{who}: {h['text']}")

    def cmd_resume(self, arg: str = "") -> None:
        """Go back to the last saved conversation (or /resume THREAD_ID): its plan, question and jobs."""
        from lqmf.copilot.session import Session, last_thread

        thread = arg or last_thread()
        if not thread or thread == self.repl.session.thread_id and not arg:
            self.io.output("This is the last conversation already." if thread else "There is no saved conversation.")
            self.repl.show_resumed()
            return
        self.repl.session = Session(resume=True, thread_id=thread, app=self.repl.session.app)
        self.repl.show_resumed()

    def cmd_models(self, arg: str = "") -> None:
        """List the models on this machine (bundled ones first) and what was made from them."""
        from lqmf.copilot.tools_registry import ToolContext, models

        self.io.blocks(models(ToolContext(self.repl.session.app)).blocks)

    def cmd_tutorial(self, arg: str = "") -> None:
        """Guided tutorials: /tutorial lists them with your progress; /tutorial NAME starts one; /tutorial skip, /tutorial quit."""
        if self.repl.session.pending() is not None:
            self.io.output("Answer the question above first (or say 'no'), then /tutorial.")
            return
        self.repl.session.send(f"/tutorial {arg}".strip(), on_blocks=self.io.blocks)

    def cmd_voice(self, arg: str = "") -> None:
        """Speak a command (push-to-talk), or /voice FILE to read a recording instead."""
        from lqmf.copilot.voice.frontend import voice_turn

        voice_turn(self.repl, arg)

    def cmd_quit(self, arg: str = "") -> None:
        """Leave the chat (jobs keep running; `lqmf chat --resume` comes back)."""
        raise Quit
