"""How the chat reads people who type fast: misspelt small talk, typo'd verbs, job numbers,
"again but smaller". The real parser, graph pieces and job store; no LLM."""
from __future__ import annotations

import pytest

from lqmf.copilot.nodes import words
from lqmf.tools.errors import LqmfError


@pytest.mark.parametrize("text, kind", [
    ("helo there", "greeting"), ("hii", "greeting"), ("heyyy", "greeting"), ("gud morning", "greeting"),
    ("thnks a lot", "thanks"), ("thankyou so much", "thanks"), ("cya later", "bye"),
    ("nice, coffee time", "away"), ("brb", "away"), ("ok lunch break", "away"),
    ("i'm back", "back"), ("back again", "back"),
    # the word-level reading: only social words and the words around them
    ("cheers, that was really helpful", "thanks"), ("ok that's all for tonight", "bye"), ("sweet", "smalltalk"),
    ("see ya tomorrow guys", "bye"), ("hey there friend", "greeting"),
    ("thanks, quantize smollm2", None), ("ok that's all for q4_k_m", None),
    ("quantize smollm2", None), ("hello can you quantize smollm2 to q4_k_m", None), ("helper", None),
])
def test_small_talk_is_read_through_its_spelling(text, kind):
    from lqmf.copilot.parser import parse

    r = parse(text)
    assert r.get("chitchat") == kind, r
    if kind is None and "quantize" in text:
        assert r["intent"] == "quantize", r


@pytest.mark.parametrize("text, fixed", [
    ("pls benchmrak smollm2", "pls benchmark smollm2"), ("comapre them", "compare them"),
    ("cancle job 2", "cancel job 2"),
    # a verb's own forms and known words stay
    ("measured runs", "measured runs"), ("benchmarking it", "benchmarking it"), ("compares", "compares"),
    ("smollm2 q4_k_m", "smollm2 q4_k_m"), ("chance", "chance"),
])
def test_typod_verbs_are_fixed_and_nothing_else(text, fixed):
    from lqmf.copilot.parser.text import fix_verbs

    assert fix_verbs(text) == fixed


def test_a_short_number_never_picks_a_job_by_its_id_prefix():
    from lqmf.tools.scheduler import JobStore
    from lqmf.tools.scheduler.jobs import Job, JobKind

    store = JobStore()
    job = Job(JobKind.NOOP, {})
    job.id = "2" + job.id[1:]
    store.add(job)
    try:
        assert store.get(job.id[:4]).id == job.id         # four characters or more: a prefix
        with pytest.raises(LqmfError, match="at least 4 characters"):
            store.get("2")                                # "cancel job 2" must not cancel this one
    finally:
        store.close()


def _state(tracked=(), listing=()):
    return {"tracked": [dict(t) for t in tracked], "listing": [dict(r) for r in listing]}


def test_job_numbers_are_this_chats_jobs_or_the_last_jobs_list():
    from lqmf.copilot.nodes.job_refs import by_number, number_said

    mine = [{"job_id": "aaaa000001", "tool": "quantize", "model": "smollm2", "quant_type": "Q4_0"},
            {"job_id": "bbbb000002", "tool": "quantize", "model": "smollm2", "quant_type": "Q5_0"}]
    assert number_said({"job_id": "2"}, "stop job 2") == 2
    assert number_said({}, "cancel the third job") == 3
    assert number_said({"job_id": "bbbb000002"}, "cancel bbbb000002") is None
    assert by_number(_state(mine), 2) == ("bbbb000002", "")
    assert by_number(_state(mine), -1) == ("bbbb000002", "")
    none, why = by_number(_state(mine), 3)
    assert none is None and "no job 3 in this conversation" in why and "bbbb000002" in why
    listed = [{"id": "cccc000003", "kind": "benchmark", "status": "queued", "args": {"model": "gemma3-270m"}}]
    assert by_number(_state(mine, listed), 1) == ("cccc000003", "")   # the table just shown wins
    assert "not started job 1" in by_number(_state(), 1)[1]


@pytest.mark.parametrize("qt, smaller, want", [("Q6_K", True, "Q5_K_M"), ("Q3_K_M", False, "Q4_K_M"),
                                               ("Q8_0", False, None), ("Q4_K_S", True, "Q3_K_M")])
def test_again_but_smaller_steps_along_the_declared_ladder(qt, smaller, want):
    from lqmf.copilot.app.quants import step_type

    assert step_type(qt, smaller) == want


@pytest.mark.parametrize("text,here", [
    ("what's on this laptop?", True), ("ok what do i have on my pc", True), ("whats installed here", True),
    ("anything downloaded already", True),
    ("what runs fastest on this machine", False), ("what quant fits on my laptop", False),
    ("what is on the leaderboard", False),
])
def test_the_inventory_asked_without_the_word_models(text, here):
    assert words.asks_whats_here(text) is here


@pytest.mark.parametrize("text,another", [
    ("and for tinyllama?", True), ("ok, what about the 270m", True), ("now on qwen2.5-0.5b please", True),
    ("and for the rest of the day i'm off", False), ("what about speed", True),
])
def test_a_line_that_only_names_another_subject_for_the_last_task(text, another):
    """``FOR_ANOTHER`` marks the shape; the model slot decides (``what about speed`` names none)."""
    assert bool(words.FOR_ANOTHER.match(words.norm(text))) is another


# a yes or a no in more words (round 11, heldout12's classes; new sentences): said first, then words that
# neither ask, change nor take it back
@pytest.mark.parametrize("text, yes, no", [
    ("yes, let's give it a go", True, False), ("ok sure use that one", True, False),
    ("got it. yes start it", True, False), ("yep that one too", True, False),
    ("yes, but at 8 bit", False, False), ("ok, which one is smaller?", False, False),
    ("no thanks, maybe later", False, True), ("nah skip it for today", False, True),
    ("no, use the gemma one", False, False), ("no problem, go on", False, False),
])
def test_a_yes_or_no_in_more_words(text, yes, no):
    assert words.opens_with_yes(text) is yes and words.opens_with_no(text) is no
