"""`lqmf chat`: the copilot. Nothing heavy is imported here."""
from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser("chat", help="talk to the copilot (quantize, benchmark, compare, ask)",
                       description="Chat with the LQMF copilot. Without a terminal (or with --script) it reads "
                                   "one line per turn and prints the transcript.")
    p.add_argument("--resume", action="store_true", help="continue the last conversation")
    p.add_argument("--script", metavar="FILE", help="read the conversation from FILE ('-' for stdin)")
    p.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    p.add_argument("--no-wait", action="store_true",
                   help="in script mode, do not wait for submitted jobs before the next line")
    p.add_argument("--voice", action="store_true",
                   help="push-to-talk: an empty line records a spoken command (where a microphone exists)")
    p.add_argument("--voice-model", default="tiny.en", metavar="NAME", help="Whisper model for --voice and /voice")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from lqmf.copilot.io import IO
    from lqmf.copilot.repl import Repl
    from lqmf.copilot.session import Session
    from lqmf.tools.errors import InvalidInput

    script = None
    if args.script and args.script != "-":
        try:
            script = open(args.script, encoding="utf-8", errors="replace")
        except OSError as e:
            raise InvalidInput(f"cannot read {args.script} ({e.strerror})", "check the path") from None
    from lqmf.copilot.tutoring import first_run_offer

    interactive = not (args.script or args.plain) and sys.stdin.isatty() and sys.stdout.isatty()
    offer = first_run_offer()           # before the Session notes its thread
    session = Session(resume=args.resume, load_now=not interactive, warm_docs=interactive, app=args.app)
    repl = Repl(session, IO(plain=not interactive), interactive=interactive, wait=not args.no_wait)
    if offer:
        repl.io.output(offer)
    if args.voice or args.voice_model != "tiny.en":
        _voice(repl, args)
    try:
        return repl.run(script or sys.stdin)
    finally:
        if script:
            script.close()


def _voice(repl, args) -> None:
    """Attach the voice front end; push-to-talk only where a microphone exists."""
    from lqmf.copilot.voice.frontend import VoiceFrontEnd
    from lqmf.copilot.voice.models import model_name
    from lqmf.tools.errors import MissingComponent

    repl.voice = VoiceFrontEnd(model_name(args.voice_model))
    if not args.voice:
        return
    from lqmf.copilot.voice.mic import input_device

    try:
        input_device()
    except MissingComponent as e:
        repl.io.warning(f"{e} Typed commands work as usual.")
        return
    repl.voice_mode = True
    repl.io.output("Push-to-talk: press Enter on an empty line to speak a command.")
