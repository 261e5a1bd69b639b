"""The copilot driven by scripted input: the real graph, parser, REPL,
SqliteSaver and scheduler. Long tools submit the scheduler's noop kind
(the test hook's job queue, copilot/app/testing.py) unless the test says
otherwise; no LLM unless a test's name says it fakes one."""
from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
def under_test(jobs: str = "noop", worker: bool = False) -> list[str]:
    """`lqmf` through the test hook: its long tools queue ``jobs`` ("real": the real kinds)."""
    from lqmf.copilot.app.testing import command

    return command(jobs=jobs, worker=worker)



def chat(lines: list[str]) -> str:
    """Run the real REPL in plain mode on these lines; return the transcript."""
    from lqmf.copilot.io import IO
    from lqmf.copilot.repl import Repl
    from lqmf.copilot.session import Session

    out = io.StringIO()
    Repl(Session(), IO(plain=True, stream=out), wait=False).run(io.StringIO("\n".join(lines) + "\n"))
    return out.getvalue()


def norm(text: str) -> str:
    return re.sub(r"\b[0-9a-f]{10}\b", "<id>", text)


def test_quantize_confirm_benchmark_it_whole_transcript(chat_env):
    got = norm(chat(["quantize smollm2", "", "yes", "benchmark it", "y", "/quit", "never read"]))
    assert got == """\
> quantize smollm2
Which quant type? Q4_K_M is a good start: the usual balance, much smaller than the original with little quality loss; for smollm2 that is about 83 MB.  [Q4_K_M / Q5_K_M / Q8_0 / Q6_K] (Enter: Q4_K_M)
> 
Plan:
  1. quantize smollm2 to Q4_K_M (about 83 MB)
These run as background jobs; we can keep talking meanwhile.
Go ahead? [Y/n]
> yes
Submitted job <id>: quantize smollm2 to Q4_K_M.
> benchmark it
Plan:
  1. benchmark smollm2 Q4_K_M
These run as background jobs; we can keep talking meanwhile.
Go ahead? [Y/n]
> y
Submitted job <id>: benchmark smollm2 Q4_K_M (after job <id>).
> /quit
"""


def test_the_scheduler_got_the_jobs_with_the_dependency(chat_env):
    chat(["quantize smollm2 to Q8_0", "yes", "benchmark it", "yes"])
    import lqmf.tools.scheduler as s

    jobs = sorted(s.list(), key=lambda j: j.created_at)
    assert [j.kind.value for j in jobs] == ["noop", "noop"]
    assert jobs[1].depends_on == jobs[0].id


def test_bad_input_gets_useful_answers_never_a_traceback(chat_env):
    huge = "quantize smollm2 to Q4_K_M " + "x" * 50_000
    got = chat(["", "   ", "\x00\x07\x1b[31mwhat can you do\x1b[0m", huge, "no", "/nope", "/jbos", "/", "?!?!",
                "cancel job 424242", "what's in the queue"])
    assert "Traceback" not in got
    assert "I can quantize, benchmark and compare" in got          # control characters dropped
    assert "That was long (50027 characters); I read the first 2000." in got
    assert "OK, dropped that; nothing was started." in got
    assert "Unknown command /nope; /help lists the commands." in got
    assert "Unknown command /jbos; did you mean /jobs?" in got
    assert "I didn't understand that." in got
    assert "error: there is no job 424242: say 'jobs' to see the job ids." in got  # a failing tool: one sentence
    assert got.rstrip().endswith("No jobs.")                       # ... and the chat went on


def test_slash_commands(chat_env):
    got = chat(["/help", "/models", "/jobs", "quantize smollm2 to Q4_K_M", "no", "/history"])
    assert "/resume" in got and "Go back to the last saved conversation" in got   # docstrings are the help
    assert "smollm2" in got and "bundled" in got
    assert "you: quantize smollm2 to Q4_K_M\ncopilot: Go ahead? [Y/n]\nyou: no\ncopilot: OK, dropped that" in got


def test_without_llm_says_so_once(chat_env):
    got = chat(["tell me a joke", "sing a song"])
    assert got.count("No LLM is configured") == 1
    assert got.count("I didn't understand that.") == 2


def test_free_form_reply_fake_llm(chat_env):
    """Fakes only the LLM (the edge we do not own), passed in the App the nodes get as their
    runtime context: free-form text goes to it with the history."""
    from lqmf.copilot.app import testing

    seen = []
    fake = lambda text, hist: seen.append((text, len(hist))) or f"(fake llm) you said: {text}"  # noqa: E731
    with testing.install(testing.app("noop", llm=lambda: fake)):
        got = chat(["what can you do", "tell me a joke"])
    assert "(fake llm) you said: tell me a joke" in got
    assert "No LLM is configured" not in got
    assert seen == [("tell me a joke", 3)]


def run_cli(args: list[str], stdin: str, env: dict, timeout: float = 120, jobs: str = "noop",
            worker: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([*under_test(jobs, worker), *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


def test_resume_across_processes_keeps_the_pending_question(chat_env):
    env = dict(os.environ)
    first = run_cli(["chat", "--script", "-"], "quantize smollm2 to Q6_K and benchmark it\n", env)
    assert first.returncode == 0, first.stderr
    assert "Go ahead? [Y/n]" in first.stdout
    second = run_cli(["chat", "--resume", "--no-wait", "--script", "-"], "yes\nwhat's in the queue\n", env)
    assert second.returncode == 0, second.stderr
    out = norm(second.stdout)
    assert out.startswith("Resuming conversation ")
    assert "You were asked:\nGo ahead? [Y/n]\n> yes\nSubmitted job <id>: quantize smollm2 to Q6_K.\n" \
           "Submitted job <id>: benchmark smollm2 Q6_K (after job <id>).\n" in out
    third = run_cli(["chat", "--resume", "--no-wait", "--script", "-"], "now do Q8_0\n", env)
    assert "quantize smollm2 to Q8_0" in third.stdout        # the focus survived too
    assert "Traceback" not in first.stderr + second.stderr + third.stderr


def test_ctrl_c_cancels_the_action_not_the_session(chat_env):
    env = dict(os.environ)
    # a real quantize job; no worker takes it
    p = subprocess.Popen([*under_test("real"), "chat", "--plain"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        p.stdin.write("quantize smollm2 to Q4_K_M\nyes\n")
        p.stdin.flush()
        seen = ""
        while "Submitted job" not in seen:                   # the chat now waits on the job
            line = p.stdout.readline()
            assert line, p.stderr.read()
            seen += line
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        p.stdin.write("what's in the queue\n")
        p.stdin.flush()
        p.stdin.close()
        p.wait(timeout=60)
        out, err = p.stdout.read(), p.stderr.read()
    finally:
        p.kill() if p.poll() is None else None
    out = seen + out
    assert p.returncode == 0, err
    assert re.search(r"Cancelled job \w+ \(quantize smollm2 Q4_K_M\): cancelled\.", out)
    assert re.search(r"quantize\s+smollm2 Q4_K_M\s+cancelled", out)      # the queue shows it
    assert "Traceback" not in err


def test_kill_mid_tool_then_resume_shows_the_true_state(chat_env):
    env = dict(os.environ)
    # a real worker runs the stand-in sleep jobs
    p = subprocess.Popen([*under_test("sleep:2", worker=True), "chat", "--plain"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    p.stdin.write("quantize smollm2 to Q4_K_M\nyes\n")
    p.stdin.flush()
    while "Submitted job" not in (line := p.stdout.readline()):
        assert line, p.stderr.read()
    p.kill()                                                   # killed while the job runs
    p.wait()
    time.sleep(4)                                              # the worker finishes it meanwhile
    again = run_cli(["chat", "--resume", "--script", "-"], "\n", env, jobs="sleep:2", worker=True)
    assert re.search(r"sleep\s+succeeded", again.stdout), again.stdout
    assert re.search(r"Job \w+ \(quantize smollm2 Q4_K_M\) finished", again.stdout), again.stdout


# each dialogue set's gate: one dialogue below what it measured (issue [10], round 3, helper g1:
# dialogues 40/40, heldout 32/34, heldout2 32/34 (one is a fault of the set: a dialogue named "keeps the
# plan" that expects no question pending), heldout3 33/33 on its second scoring (29/33 on its first,
# before the fixes of the classes it showed))
DIALOGUE_GATES = {"dialogues.toml": (39, 40), "heldout.toml": (31, 34), "heldout2.toml": (31, 34),
                  "heldout3.toml": (32, 33), "heldout4.toml": (38, 41), "tune4.toml": (19, 20), "heldout5.toml": (45, 47),
                  "heldout6.toml": (56, 59), "tune5.toml": (21, 22), "heldout7.toml": (58, 60), "tune6.toml": (11, 12),
                  "heldout8.toml": (57, 60), "tune7.toml": (15, 16), "heldout9.toml": (56, 60), "tune8.toml": (25, 26),
                  "heldout11.toml": (59, 60), "tune9.toml": (12, 13), "heldout12.toml": (59, 60),
                  "heldout13.toml": (59, 60), "tune10.toml": (9, 10), "tune11.toml": (47, 50), "tune12.toml": (4, 5)}


@pytest.fixture(scope="module")
def dialogue_runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every gated set through the real eval runner, two at a time (each its own process and data
    dir; they share nothing), so that the gates cost half the wall time on two cores."""
    from concurrent.futures import ThreadPoolExecutor

    def run(name: str) -> subprocess.CompletedProcess:
        need, total = DIALOGUE_GATES[name]
        env = {k: v for k, v in os.environ.items() if k != "LQMF_CHAT_LLM"}
        env["LQMF_HOME"] = str(tmp_path_factory.mktemp("dialogues") / "home")
        return subprocess.run([sys.executable, "evals/dialogues/run_eval.py", "--data", f"evals/dialogues/{name}",
                               "--min-success", f"{need / total - 1e-9:.12f}"], cwd=ROOT,
                              capture_output=True, text=True, timeout=600, env=env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(DIALOGUE_GATES, pool.map(run, DIALOGUE_GATES)))


@pytest.mark.parametrize("name", list(DIALOGUE_GATES))
def test_dialogue_eval_meets_its_bar(dialogue_runs, name):
    _, total = DIALOGUE_GATES[name]
    r = dialogue_runs[name]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f"dialogues: {total} " in r.stdout and "task success" in r.stdout


@pytest.mark.slow
def test_real_quantize_then_benchmark_end_to_end(chat_env, monkeypatch):
    """No dry run: a real worker quantizes the bundled model and benchmarks it."""
    env = dict(os.environ, LQMF_CHAT_BENCH_CHUNKS="2")
    r = run_cli(["chat", "--script", "-"],
                "quantize smollm2 to Q4_K_M\nyes\nbenchmark it\nyes\n", env, timeout=1200, jobs="real", worker=True)
    out = r.stdout
    assert r.returncode == 0, r.stderr
    assert re.search(r"Job \w+ \(quantize smollm2 Q4_K_M\) finished: [\d.]+ MB", out), out
    assert re.search(r"Job \w+ \(benchmark smollm2 Q4_K_M\) finished: .*tok/s.*KLD", out), out
    # the results, from a later process (a store opened while the worker wrote was seen stale once)
    later = run_cli(["chat", "--resume", "--script", "-"], "show me my smollm2 experiments\n", env, jobs="real",
                    worker=True)
    assert re.search(r"smollm2\s+Q4_K_M\s+gguf\s+[\d.]+ MB\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+succeeded", later.stdout), \
        later.stdout
