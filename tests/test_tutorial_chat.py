"""Tutorials in the chat: the real REPL, graph, parser and SqliteSaver.

The fast tests drive the REPL in-process on scripted lines (long tools submit
the scheduler's noop kind and no worker runs, as in test_copilot_chat.py), for
the wiring: /tutorial, the tutorial intent, skip, quit, a wrong step, resume
after a restart, the voice step without /voice, the first-run offer, and the
explain tool getting the whole question. The slow one runs every tutorial end
to end through `lqmf chat --script` with a real worker on the bundled model
(evals/tutorials/run_all.py) and prints how long each took.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import stop_workers

ROOT = Path(__file__).resolve().parents[1]



def chat(lines: list[str], resume: bool = False) -> str:
    from lqmf.copilot.io import IO
    from lqmf.copilot.repl import Repl
    from lqmf.copilot.session import Session

    out = io.StringIO()
    Repl(Session(resume=resume), IO(plain=True, stream=out), wait=False).run(io.StringIO("\n".join(lines) + "\n"))
    return out.getvalue()


def test_list_start_skip_quit_and_the_list_shows_progress(chat_env):
    got = chat(["/tutorial", "/tutorial first", "next", "/tutorial skip", "/tutorial quit", "/tutorial",
                "/tutorial nosuchthing", "/tutorial skip"])
    assert "first-quantization      Your first quantization         not started, 4 steps" in got
    assert "Starting 'Your first quantization'" in got and "[Your first quantization, step 1 of 4]" in got
    assert "[Your first quantization, step 2 of 4]" in got and "Try: quantize smollm2 to Q4_K_M" in got
    assert "Skipped 'quantize'. [Your first quantization, step 3 of 4]" in got
    assert "Left 'Your first quantization' at step 3 of 4; /tutorial first-quantization picks it up again." in got
    assert "first-quantization      Your first quantization         step 3 of 4" in got
    assert "I have no tutorial on 'nosuchthing'. These are the ones I have: first-quantization," in got
    assert got.rstrip().endswith("No tutorial is running; /tutorial lists them.")
    assert "/tutorial" in chat(["/help"])                    # the docstring is its help line


@pytest.mark.parametrize("said, title", [
    ("teach me how to quantize", "Your first quantization"),
    ("show me around", "Your first quantization"),
    ("teach me about background jobs", "Running jobs in the background"),
    ("is there a tutorial on voice", "Voice commands"),
    ("walk me through tuning", "Tuning with a quality gate"),
    ("teach me how to use my own model", "Using your own model"),
    ("lesson about perplexity", "Reading a benchmark"),
    ("can you show me how to compare quants", "Choosing a quant type"),
])
def test_the_tutorial_intent_picks_one_by_topic(chat_env, said, title):
    assert f"Starting '{title}'" in chat([said])


def test_a_wrong_step_is_explained_and_retried_then_passes_and_a_restart_resumes(chat_env):
    got = chat(["/tutorial asking", "next", "next"])
    # the store is empty: the first step's check fails, with its hint, and the step stays
    assert "Not yet: there is no succeeded benchmark run yet. Run any benchmark first: benchmark smollm2 " \
           "Q4_K_M. Try again, or /tutorial skip." in got
    assert "step 2 of 4" not in got
    chat(["/tutorial skip"], resume=True)                   # a new Session on the same thread (a restart)
    again = chat(["compare smollm2 Q4_K_M and Q8_0", "show me my fastest models under 2GB"], resume=True)
    assert "You are in the tutorial 'Asking about past runs':\n[Asking about past runs, step 2 of 4]" in again
    assert "Done: you made 1 query request." in again       # the compare did not count for the query step
    assert "[Asking about past runs, step 3 of 4]" in again


def test_a_tutorial_started_while_a_job_runs_goes_on(chat_env):
    """Real quantize jobs in the real queue; no worker runs, so they stay queued (running)."""
    from lqmf.copilot.app import testing

    with testing.install(testing.app(None, worker=False)):   # the real job kinds
        got = chat(["quantize smollm2 to Q8_0", "yes", "/tutorial background",
                    "quantize smollm2 to Q5_K_M with low priority", "yes", "what's in the queue"])
    assert "Submitted job" in got
    assert "Done: found a quantize job." in got and "Done: you made 1 jobs request." in got
    import lqmf.tools.scheduler as s

    assert [j.state.value for j in s.list()] == ["queued", "queued"]   # the first job was left alone


def test_the_voice_step_says_when_there_is_no_voice_front_end(chat_env):
    from lqmf.copilot.tutoring import VOICE_MISSING, voice_available

    got = chat(["/tutorial voice", "next", "/tutorial skip", "/tutorial skip"])
    if not voice_available():
        assert f"Try: (spoken) what's in the queue\n{VOICE_MISSING}" in got
    assert "That was the last step of 'Voice commands'." in got


def test_first_run_offers_the_first_tutorial_once(chat_env):
    from tests.conftest import run_lqmf

    env = {"LQMF_HOME": str(chat_env)}
    first = run_lqmf("chat", "--script", "-", env=env, input="/quit\n", timeout=120)
    second = run_lqmf("chat", "--script", "-", env=env, input="/quit\n", timeout=120)
    offer = "New here? Type /tutorial first-quantization"
    assert first.stdout.count(offer) == 1 and first.stdout.splitlines()[0].startswith(offer), first.stdout
    assert offer not in second.stdout


def test_explain_gets_the_whole_question(chat_env):
    from lqmf.copilot.session import Session

    s = Session()
    turn = s.send("why is my Q2_K so bad")
    call = next(c for c in turn.calls if c["tool"] == "explain")
    assert call["args"]["question"] == "why is my Q2_K so bad"
    assert "(from knowledge/explain/" in turn.blocks[-1]["text"]


@pytest.mark.slow
def test_every_tutorial_end_to_end_on_the_bundled_model(warm_home, tmp_path, capsys):
    """Real jobs: a real worker quantizes and benchmarks smollm2 (2 benchmark windows).
    The data dir starts with the warm one's F16 cache only (other tests add artifacts to
    the warm dir itself), so every transcript starts from the same state."""
    home = tmp_path / "tutorial-home"
    shutil.copytree(warm_home / "cache", home / "cache", ignore=shutil.ignore_patterns("*.lock"))
    sys.path.insert(0, str(ROOT / "evals" / "tutorials"))
    try:
        import run_all
    finally:
        sys.path.pop(0)
    try:
        rc = run_all.main(["--home", str(home), "--chunks", os.environ.get("LQMF_CHAT_BENCH_CHUNKS", "2")])
    finally:
        stop_workers(home)
    printed = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + printed)                                # per-tutorial durations, in the CI log
    assert rc == 0, printed[-6000:]
    assert printed.count(" ok\n") == 8


def test_docs_warm_up_runs_in_the_loader_thread_before_the_first_turn(chat_env, monkeypatch):
    """The chat (terminal mode) warms the docs index after building the graph, in the same
    thread, and a turn joins that thread first: no two threads import heavy modules at once.
    (chat_env is a fresh data dir, so the index is built for it, not reused.)"""
    import threading

    import lqmf.tools.docs_index as di
    from lqmf.copilot.session import Session

    seen = []
    real = di.warm_up
    monkeypatch.setattr(di, "warm_up", lambda background=True: (
        seen.append((background, threading.current_thread().name)), real(background=False)))
    s = Session(warm_docs=True)
    assert s.graph is not None                    # what every turn does first
    assert seen == [(False, "graph-loader")]
    assert (chat_env / "docs_index").exists()     # built for this data dir before the first turn runs
