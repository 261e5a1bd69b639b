"""One object owns the terminal: ``output``, ``warning``, ``error``, blocks
and questions. Plain mode (tests, scripts, no TTY) writes fixed-width text
with no colour; terminal mode uses rich."""
from __future__ import annotations

import sys
import threading
from typing import TextIO

from lqmf.copilot import render


class IO:
    def __init__(self, plain: bool = False, stream: TextIO | None = None, width: int = 100):
        self.plain = plain
        self.stream = stream or sys.stdout
        self.width = width
        self._console = None
        self._lock = threading.Lock()

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=False)
        return self._console

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def blocks(self, blocks: list[dict]) -> None:
        for b in blocks:
            if b.get("kind") == "reset":
                continue
            if self.plain:
                self._write(render.plain(b, self.width))
            else:
                with self._lock:
                    self.console.print(render.rich_renderable(b))

    def output(self, text: str) -> None:
        self.blocks([render.text(text)])

    def warning(self, text: str) -> None:
        from lqmf.tools.errors import escape_controls
        self.blocks([render.warn(escape_controls(text))])

    def error(self, text: str) -> None:
        from lqmf.tools.errors import escape_controls
        self.blocks([render.error(escape_controls(text))])

    def echo(self, prompt: str, text: str) -> None:
        """Show what a script 'typed' (plain mode transcripts)."""
        self._write(f"{prompt}{text}")

    def question(self, q: dict) -> None:
        choices = q.get("choices") or []
        hint = ""
        if choices and q.get("slot") != "confirm":
            hint = "  [" + " / ".join(choices) + "]"
            if q.get("default"):
                hint += f" (Enter: {q['default']})"
        self.output(f"{q.get('prompt', '?')}{hint}")
