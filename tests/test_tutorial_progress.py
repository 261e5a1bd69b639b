"""Tutorial progress: scripted walks through real tutorial files (a wrong
step explained and retried, a step done ahead of time, a skip, a resume
from the serialized progress), and the checks against the real state read
by ``gather`` (the real quantizer's artifact and record in the warm data
dir, the real job store with a queued and a cancelled job)."""
from __future__ import annotations

import json
import time

from lqmf.tools import tutorials
from lqmf.tools.store.records import ExperimentRecord
from lqmf.tools.tutorial_checks import Event, State, evaluate
from lqmf.tools.tutorial_progress import Move, Progress, check_step, gather, overview, prompt, skip, start


def bench(qt="Q4_K_M", model="smollm2"):
    return ExperimentRecord(kind="benchmark", status="succeeded", model=model, model_name=model,
                            quant_type=qt, kld_mean=0.06)


def test_first_tutorial_scripted_with_a_wrong_step_and_a_resume(tmp_path):
    t = tutorials.find("first-quantization")
    now = time.time()
    p = start(t, now)
    assert prompt(t, p).startswith("[Your first quantization, step 1 of 4]")
    out = check_step(p, t, State(since=now), now)                 # 'next' on the reading step
    assert out.move is Move.NEXT and "Try: quantize smollm2 to Q4_K_M" in out.message
    p = out.progress
    # done wrong: the user made Q8_0 instead
    wrong = State(artifacts=[str(tmp_path / "smollm2.Q8_0.gguf")], since=now)
    out = check_step(p, t, wrong, now)
    assert out.move is Move.RETRY and out.progress.step == 1
    assert out.message.startswith("Not yet: there is no Q4_K_M artifact of smollm2 yet. Type or say exactly")
    # the session ends here; the progress is saved and read back in a new one
    saved = json.dumps(out.progress.to_dict())
    p = Progress.from_dict(json.loads(saved))
    assert (p.tutorial, p.step, p.status["intro"]) == ("first-quantization", 1, "done")
    right = State(artifacts=[str(tmp_path / "smollm2.Q4_K_M.gguf")], since=now)
    out = check_step(p, t, right, now)
    assert out.move is Move.NEXT and out.message.startswith("Done: found the Q4_K_M artifact of smollm2.")
    out = check_step(out.progress, t, State(records=[bench()], since=now), now)
    assert out.move is Move.NEXT and "what does kl divergence mean" in out.message
    out = check_step(out.progress, t, State(events=[Event("explain")], since=now), now)
    assert out.move is Move.FINISHED and out.progress.finished
    assert out.progress.done_count() == 4


def test_steps_done_ahead_of_time_are_passed_over(tmp_path):
    t = tutorials.find("choosing-a-quant-type")
    now = time.time()
    both = State(artifacts=[str(tmp_path / "smollm2.Q4_K_M.gguf"), str(tmp_path / "smollm2.Q8_0.gguf")],
                 records=[bench("Q4_K_M"), bench("Q8_0")], since=now)
    out = check_step(start(t, now), t, both, now)
    assert out.move is Move.NEXT and "Already done: large, measure." in out.message
    assert t.steps[out.progress.step].id == "compare"


def test_skip_moves_on_without_a_check_and_overview_shows_progress():
    t = tutorials.find("voice-commands")
    now = time.time()
    p = start(t, now)
    out = skip(p, t, now)
    assert out.move is Move.NEXT and out.message.startswith("Skipped 'setup'.")
    assert out.progress.status["setup"] == "skipped"
    rows = dict((n, s) for n, _, s in overview(tutorials.load(), {t.name: out.progress}))
    assert rows["voice-commands"] == "step 2 of 3"
    assert rows["first-quantization"] == "not started, 4 steps"
    last = Progress(t.name, len(t.steps) - 1, {}, now)
    assert skip(last, t, now).move is Move.FINISHED


def test_checks_against_the_real_state(use_warm_home):
    """The warm data dir holds a real Q8_0 quantization of the bundled model (its
    record in the journal and its file on disk); jobs go through the real job store."""
    from lqmf.tools import scheduler

    state = gather(since=0.0)
    t = tutorials.find("choosing-a-quant-type")
    assert evaluate(t.step("large").check, state).ok                      # Q8_0 artifact exists
    started = time.time()
    job = scheduler.submit("noop", {}, priority="low")
    state = gather(since=started)
    jobs_t = tutorials.find("background-jobs")
    assert not evaluate(jobs_t.step("queue").check, state).ok             # a noop is not a quantize job
    from lqmf.tools.tutorial_checks import Check, CheckKind
    assert evaluate(Check(CheckKind.JOB, {"priority": "low", "status": "queued", "fresh": True}), state).ok
    assert not evaluate(jobs_t.step("cancel").check, state).ok
    scheduler.cancel(job)
    assert evaluate(jobs_t.step("cancel").check, gather(since=started)).ok
