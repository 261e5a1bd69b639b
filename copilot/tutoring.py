"""Guided tutorials in the chat: the words that drive them, the planner of
the ``tutorial`` intent, and the check that runs after every turn.

The tutorials are data (knowledge/tutorials, loaded by tools/tutorials.py);
where a user is lives in the conversation state (``ChatState.tutorial``), so
the SqliteSaver checkpointer saves it with each turn and ``lqmf chat
--resume`` continues it. A step's check (tools/tutorial_checks.py) reads the
real state: the journal's records, the job queue, the artifact files. Every
function here is pure over the state plus that real state; the node returns
a partial update.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from lqmf.copilot import render
from lqmf.copilot.nodes import words
from lqmf.copilot.state import ChatState, Intent
from lqmf.tools.status import ACTIVE, Status


class TutorialCmd(StrEnum):
    LIST = "list"      # /tutorial: the tutorials with progress
    START = "start"    # /tutorial NAME, "teach me how to quantize": start or pick up one
    NEXT = "next"      # "next", "done": check the current step (a reading step just goes on)
    SKIP = "skip"      # /tutorial skip: on without a check
    QUIT = "quit"      # /tutorial quit: leave it (the progress is kept)


SLASH = "/tutorial"
NEXT_WORDS = frozenset({"next", "next step", "done", "i did it", "did it", "i'm done", "im done", "continue",
                        "go on", "ready", "i'm ready", "im ready", "ok next", "okay next", "ok", "okay", "yes"})
SKIP_WORDS = frozenset({"skip", "skip it", "skip this", "skip this step", "skip step", "skip the step"})
QUIT_WORDS = frozenset({"quit tutorial", "quit the tutorial", "stop tutorial", "stop the tutorial", "exit tutorial",
                        "exit the tutorial", "leave the tutorial", "end tutorial", "end the tutorial"})
TOUR = re.compile(r"\b(?:show me around|give me a tour|take me on a tour|tour of (?:lqmf|this|the app))\b", re.IGNORECASE)
FIRST_RUN_MARKER = "chat_first_run"
VOICE_MISSING = ("This build has no voice front end yet (/voice is missing), so this step cannot be done here; "
                 "say /tutorial skip to go on.")
WAITING = "(Tutorial: I will check this step when your job finishes.)"


# ---- words -> the tutorial intent ---------------------------------------------
def slash(arg: str) -> dict:
    """Slots for ``/tutorial ARG``."""
    arg = " ".join(arg.split())
    low = arg.lower()
    if not low or low == "list":
        return {"tutorial_cmd": TutorialCmd.LIST.value}
    if low in {c.value for c in TutorialCmd} - {TutorialCmd.START.value}:
        return {"tutorial_cmd": low}
    if low in ("stop", "exit", "leave", "end"):
        return {"tutorial_cmd": TutorialCmd.QUIT.value}
    return {"tutorial_cmd": TutorialCmd.START.value, "name": arg}


def intercept(text: str, state: ChatState) -> tuple[str, dict] | None:
    """(intent, slots) when the text drives a tutorial, else None (the parser reads it)."""
    t = text.strip()
    if t.lower() == SLASH or t.lower().startswith(SLASH + " "):
        return Intent.TUTORIAL.value, slash(t[len(SLASH):])
    if TOUR.search(t):
        return Intent.TUTORIAL.value, {"tutorial_cmd": TutorialCmd.START.value}
    if not active_name(state):
        return None
    w = words.norm(t)
    for cmd, vocab in ((TutorialCmd.NEXT, NEXT_WORDS), (TutorialCmd.SKIP, SKIP_WORDS), (TutorialCmd.QUIT, QUIT_WORDS)):
        if w in vocab:
            return Intent.TUTORIAL.value, {"tutorial_cmd": cmd.value}
    return None


# ---- the state ----------------------------------------------------------------
def active_name(state: Mapping[str, Any]) -> str | None:
    """The running tutorial's name: from the live state, or from saved state values."""
    return (state.get("tutorial") or {}).get("active")


def _restore(d: dict):
    """A saved Progress, its step kept inside the tutorial (its file may have lost steps since)."""
    from lqmf.tools import tutorials
    from lqmf.tools.tutorial_progress import Progress

    p = Progress.from_dict(d)
    t = tutorials.load().get(p.tutorial)
    if t is not None and not 0 <= p.step < len(t.steps):
        p.step = max(0, min(p.step, len(t.steps) - 1))
    return p


def _progress_map(state: ChatState) -> dict:
    return {n: _restore(d) for n, d in ((state.get("tutorial") or {}).get("progress") or {}).items()}


def _saved(state: ChatState, p, active: str | None) -> dict:
    """The ``tutorial`` update after a move: the whole progress map (merge_dict overwrites keys)."""
    progress = dict((state.get("tutorial") or {}).get("progress") or {})
    progress[p.tutorial] = p.to_dict()
    return {"active": active, "progress": progress, "events": []}


def voice_available() -> bool:
    from lqmf.copilot.commands import Commands

    return hasattr(Commands, "cmd_voice")


def _with_notes(t, p, message: str) -> str:
    """A step that needs speech, where this build has no /voice: say so, offer the skip."""
    if p.finished or voice_available():
        return message
    step = t.steps[p.step]
    return f"{message}\n{VOICE_MISSING}" if step.check.get("via") == "voice" else message


def busy(state: ChatState) -> bool:
    """Jobs of this conversation still queued or running (per the last sync)."""
    return any(not x.get("announced") and (x.get("status") is None or Status(x["status"]) in ACTIVE)
               for x in state.get("tracked") or [])


def _events(state: ChatState) -> list:
    from lqmf.tools.tutorial_checks import Event

    return [Event(e["intent"], {}, e.get("via", "text"), float(e.get("at", 0.0)))
            for e in (state.get("tutorial") or {}).get("events") or []]


def _check(state: ChatState, t, p, events=None):
    from lqmf.tools.tutorial_progress import check_step, gather

    now = time.time()
    return check_step(p, t, gather(since=p.step_started_at, events=events if events is not None else _events(state)),
                      now)


def _said(text: str) -> dict:
    return {"out": [render.text(text)], "history": [{"role": "copilot", "text": text[:2000]}]}


# ---- the planner of the tutorial intent ------------------------------------------
def plan_tutorial(req: dict, state: ChatState) -> dict:
    from lqmf.tools import tutorials
    from lqmf.tools.tutorial_progress import Move, overview, prompt, skip, start

    cmd = TutorialCmd(req.get("tutorial_cmd") or TutorialCmd.START.value)
    everything = tutorials.load()
    progress = _progress_map(state)
    name = active_name(state)
    current = everything.get(name) if name else None
    if cmd is TutorialCmd.LIST:
        rows = [[n, title, st + (" (current)" if n == name else "")] for n, title, st in overview(everything, progress)]
        return {"out": [render.table("Tutorials", ["name", "title", "progress"], rows),
                        render.text("Start one with /tutorial NAME (a unique prefix will do).")], "request": None}
    if cmd in (TutorialCmd.NEXT, TutorialCmd.SKIP, TutorialCmd.QUIT) and current is None:
        return {"out": [render.text("No tutorial is running; /tutorial lists them.")], "request": None}
    if cmd is TutorialCmd.QUIT:
        assert current is not None  # checked above
        p = progress[name]
        return {"out": [render.text(f"Left '{current.title}' at step {p.step + 1} of {len(current.steps)}; "
                                    f"/tutorial {name} picks it up again.")],
                "tutorial": {"active": None}, "request": None}
    if cmd in (TutorialCmd.NEXT, TutorialCmd.SKIP):
        assert current is not None  # checked above
        p = progress[name]
        out = skip(p, current, time.time()) if cmd is TutorialCmd.SKIP else _check(state, current, p)
        if out.move is Move.RETRY:
            tail = " Your job is still running; I will check when it finishes." if busy(state) else \
                " Try again, or /tutorial skip."
            return {"out": [render.text(_with_notes(current, p, out.message + tail))], "request": None}
        return _moved(state, current, out)
    # start, or pick one from a topic
    want = req.get("name") or req.get("topic")
    t = tutorials.pick(want) if want else None
    if want and t is None:
        names = ", ".join(everything)
        return {"out": [render.text(f"I have no tutorial on '{want}'. These are the ones I have: {names} "
                                    f"(/tutorial NAME starts one).")], "request": None}
    if t is None:                      # "show me around": the current one, else the first not finished
        t = current or next((x for n, x in everything.items() if not (progress.get(n) and progress[n].finished)),
                            next(iter(everything.values())))
    p = progress.get(t.name)
    if p is not None and not p.finished:
        lead = f"Picking up '{t.title}' where you left it.\n"
    else:
        p, lead = start(t, time.time()), f"Starting '{t.title}': {t.summary} (/tutorial skip, /tutorial quit)\n"
    text = _with_notes(t, p, lead + prompt(t, p))
    return {"out": [render.text(text)], "tutorial": _saved(state, p, t.name), "request": None}


def _moved(state: ChatState, t, out) -> dict:
    from lqmf.tools.tutorial_progress import Move

    p = out.progress
    text = _with_notes(t, p, out.message)
    if out.move is Move.FINISHED:
        text += " Well done! /tutorial lists the others."
    return {"out": [render.text(text)], "tutorial": _saved(state, p, None if p.finished else t.name),
            "request": None}


# ---- after every turn: did the user just do the step? -----------------------------
def _relevant(check, intent: str) -> bool:
    from lqmf.tools.tutorial_checks import QUERY_INTENTS, CheckKind

    kind = check.kind
    if kind is CheckKind.NONE:
        return False
    if kind in (CheckKind.ARTIFACT, CheckKind.RECORD):
        return intent in ("quantize", "benchmark", "tune", "tick")
    if kind is CheckKind.JOB and check.get("status") == Status.CANCELLED:
        return intent in ("cancel", "tick")
    if kind is CheckKind.JOB:
        return intent in ("quantize", "benchmark", "tune", "cancel", "jobs", "tick")
    if kind is CheckKind.QUERY_ASKED:
        return intent in QUERY_INTENTS
    return intent == check.get("intent")


def after_turn(state: ChatState) -> dict:
    """The ``tutor`` node: note the request, check the current step against the real
    state when this turn could have done it, and move on or say what is missing."""
    from lqmf.tools import tutorials
    from lqmf.tools.tutorial_checks import CheckKind
    from lqmf.tools.tutorial_progress import Move

    name = active_name(state)
    intent = state.get("intent") or Intent.UNKNOWN.value
    if not name or intent == Intent.TUTORIAL:
        return {}
    t = tutorials.load().get(name)
    tut = state.get("tutorial") or {}
    if t is None or name not in (tut.get("progress") or {}):
        return {"tutorial": {"active": None}}
    p = _restore(tut["progress"][name])
    if p.finished:
        return {}
    update: dict = {}
    events = list(tut.get("events") or [])
    if intent not in (Intent.TICK, Intent.UNKNOWN, Intent.PICK):
        events.append({"intent": intent, "via": state.get("via") or "text", "at": time.time()})
        update["tutorial"] = {"events": events}
    if intent == Intent.TICK and not state.get("out"):
        return update                  # a quiet tick: nothing finished
    check = t.steps[p.step].check
    if not _relevant(check, intent):
        return update
    out = _check(state, t, p, [e for e in _events({"tutorial": {"events": events}})])
    if out.move is Move.RETRY:
        if busy(state) and check.kind in (CheckKind.ARTIFACT, CheckKind.RECORD):
            return {**update, **(_said(WAITING) if intent != Intent.TICK else {})}
        return {**update, **_said(_with_notes(t, p, out.message + " Try again, or /tutorial skip."))}
    moved = _moved(state, t, out)
    return {"out": moved["out"], "tutorial": moved["tutorial"],
            "history": [{"role": "copilot", "text": render.plain(moved["out"][0])[:2000]}]}


def resumed_note(values: dict) -> str | None:
    """After a restart: the tutorial this conversation is in, and its current step."""
    from lqmf.tools import tutorials
    from lqmf.tools.tutorial_progress import prompt

    name = active_name(values)
    t = tutorials.load().get(name) if name else None
    saved = ((values.get("tutorial") or {}).get("progress") or {}).get(name or "")
    if t is None or not saved:
        return None
    p = _restore(saved)
    return _with_notes(t, p, f"You are in the tutorial '{t.title}':\n{prompt(t, p)}")


# ---- the first run --------------------------------------------------------------
def first_run_offer() -> str | None:
    """The one-line offer of the first tutorial, the first time the chat runs in this
    data dir (no saved conversation, no marker); writes the marker."""
    from lqmf.copilot.session import THREADS_FILE
    from lqmf.tools.config import data_dir

    marker = data_dir() / FIRST_RUN_MARKER
    threads = data_dir() / THREADS_FILE
    if marker.exists() or (threads.is_file() and threads.read_text().strip()):
        return None
    try:
        marker.write_text("offered the first tutorial\n")
    except OSError:
        return None
    return ("New here? Type /tutorial first-quantization for a guided first quantization of the bundled "
            "model (/tutorial lists them all).")
