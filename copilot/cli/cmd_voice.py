"""`lqmf voice`: one spoken command, transcribed locally by Whisper and run
through the copilot like one typed turn (or only parsed). Nothing heavy is
imported here."""
from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser("voice", help="speak a command (or give a recording) and run it through the copilot",
                       description="Transcribe one spoken command with a local Whisper model (extra lqmf[voice]), "
                                   "show the transcript, and run it through the copilot like one typed turn. "
                                   "An unsure transcript is confirmed first; answers are read from stdin.")
    p.add_argument("--file", metavar="AUDIO", help="a recording (WAV, FLAC, MP3, OGG...); default: the microphone")
    p.add_argument("--model", default="tiny.en", metavar="NAME",
                   help="Whisper model: tiny.en (bundled, default) or base")
    p.add_argument("--parse-only", action="store_true",
                   help="print the transcript, its confidence and the parse; run nothing")
    p.add_argument("--json", action="store_true", help="with --parse-only: one JSON object")
    p.add_argument("--yes", action="store_true", help="run an unsure transcript without asking 'is that right?'")
    p.add_argument("--confirm-below", type=float, default=None, metavar="P",
                   help="ask 'is that right?' when the combined confidence is below P (default 0.6)")
    p.add_argument("--speak", action="store_true", help="also speak a short summary of the reply")
    p.add_argument("--speak-to", metavar="WAV", help="with --speak: write the spoken reply to this new file")
    p.add_argument("--resume", action="store_true", help="continue the last conversation")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from lqmf.copilot.voice.confidence import CONFIRM_BELOW
    from lqmf.copilot.voice.frontend import VoiceFrontEnd
    from lqmf.copilot.voice.models import model_name
    from lqmf.tools.errors import InvalidInput

    below = CONFIRM_BELOW if args.confirm_below is None else args.confirm_below
    if not 0.0 <= below <= 1.0:
        raise InvalidInput(f"--confirm-below {below} is not a probability", "give a number from 0 to 1")
    if args.json and not args.parse_only:
        raise InvalidInput("--json goes with --parse-only", "add --parse-only, or drop --json")
    fe = VoiceFrontEnd(model_name(args.model), below, store_models=not args.parse_only)
    heard = fe.hear_file(args.file) if args.file else fe.hear_mic(print)
    if args.parse_only:
        return _print_parse(heard, args.json)
    return _run(fe, heard, args)


def _print_parse(heard, as_json: bool) -> int:
    import json

    from lqmf.copilot.cli.output import print_json

    if as_json:
        print_json(heard.to_dict())
        return 0
    print(heard.shown())
    print(f"parse: {json.dumps({'intent': heard.parse['intent'], 'slots': heard.parse['slots']})}")
    if heard.confirm:
        print(f"(confidence {heard.confidence:.2f} is low: the copilot would ask whether it heard right)")
    return 0


def _run(fe, heard, args) -> int:
    from lqmf.copilot.io import IO
    from lqmf.copilot.repl import Repl
    from lqmf.copilot.session import Session

    class HeardIO(IO):
        """Keeps the reply's blocks for --speak."""

        def __init__(self, **kw):
            super().__init__(**kw)
            self.said: list = []

        def blocks(self, blocks):
            self.said.extend(blocks)
            super().blocks(blocks)

    io = HeardIO(plain=True)
    repl = Repl(Session(resume=args.resume, app=args.app), io, interactive=False, wait=True)
    repl.voice = fe
    io.output(heard.shown())
    io.said.clear()
    if heard.confirm and not args.yes:
        fe.pending = heard
        io.question(heard.question())
    else:
        repl.handle(heard.text)
    _answers(repl, fe, io)
    if args.speak:
        from lqmf.copilot.voice.speak import speak, summary

        print(speak(summary(io.said), args.speak_to))
    return 0


def _answers(repl, fe, io) -> None:
    """While a question waits (ours or the graph's), read its answer from stdin."""
    tty = sys.stdin.isatty()
    while fe.pending is not None or repl.session.pending() is not None:
        try:
            line = input("> ") if tty else sys.stdin.readline()
        except EOFError:
            line = ""
        if not line:
            io.output("No answer came; nothing more was run.")
            return
        if not tty:
            io.echo("> ", line.rstrip("\n"))
        repl.handle(line.rstrip("\n"))
