"""Tutorials as data (knowledge/tutorials/*.toml) and the pure step checks
(tools/tutorial_checks.py), evaluated against built state: records, job rows,
artifact files, the user's requests. Table-driven, one comment per odd case."""
from __future__ import annotations

import time

import pytest

from lqmf.tools import tutorials
from lqmf.tools.errors import InvalidInput
from lqmf.tools.store.records import ExperimentRecord
from lqmf.tools.tutorial_checks import (CHECK_FIELDS, QUERY_INTENTS, Check, CheckKind, Event, State,
                                   evaluate)

REQUIRED = {"first-quantization", "choosing-a-quant-type", "reading-a-benchmark",
            "asking-about-past-runs", "background-jobs", "tuning-with-a-gate", "voice-commands",
            "using-your-own-model"}


def test_every_tutorial_file_parses_and_every_check_kind_is_known():
    files = sorted(tutorials.folder().glob("*.toml"))
    loaded = tutorials.load()
    assert {f.stem for f in files} == set(loaded) and REQUIRED <= set(loaded)
    kinds = set()
    for t in loaded.values():
        assert t.title and t.summary and t.steps
        for s in t.steps:
            assert s.check.kind in CheckKind
            kinds.add(s.check.kind)
            if s.check.kind is not CheckKind.NONE:
                assert s.action and s.hint, (t.name, s.id)
    # the tutorials use every kind of check there is
    assert kinds == set(CheckKind)
    assert [t.order for t in loaded.values()] == sorted(t.order for t in loaded.values())


def test_intents_named_by_checks_are_the_parsers_intents():
    from lqmf.copilot.parser.schema import Intent

    assert set(QUERY_INTENTS) <= {i.value for i in Intent}
    for t in tutorials.load().values():
        for s in t.steps:
            if "intent" in s.check.params:
                assert s.check.get("intent") in {i.value for i in Intent}, (t.name, s.id)


def test_find_by_name_prefix_or_title_word():
    assert tutorials.find("first-quantization").name == "first-quantization"
    assert tutorials.find("voice").name == "voice-commands"
    assert tutorials.find("background").name == "background-jobs"
    assert tutorials.find("sourdough") is None


HEAD = 'name = "t"\ntitle = "T"\nsummary = "S"\n'


@pytest.mark.parametrize("body, problem", [
    ('[[steps]]\nid = "a"\ntext = "x"\naction = "do"\ncheck = { kind = "telepathy" }\n', "unknown check kind"),
    ('[[steps]]\nid = "a"\ntext = "x"\naction = "do"\ncheck = { kind = "artifact", quant_type = "Q9_K" }\n',
     "unknown quant type"),
    ('[[steps]]\nid = "a"\ntext = "x"\naction = "do"\ncheck = { kind = "artifact", colour = "red" }\n',
     "unknown field"),
    ('[[steps]]\nid = "a"\ntext = "x"\naction = "do"\ncheck = { kind = "job", status = "sleeping" }\n',
     "status = 'sleeping'"),
    ('[[steps]]\nid = "a"\ntext = "x"\naction = "do"\ncheck = { kind = "record", min_types = "two" }\n',
     "must be int"),
    ('[[steps]]\nid = "a"\ntext = "x"\ncheck = { kind = "record" }\n', "no action"),   # a check the user cannot act on
    ('[[steps]]\nid = "a"\ntext = "x"\n[[steps]]\nid = "a"\ntext = "y"\n', "used twice"),
    ('[[steps]]\nid = "a"\ntext = "x"\naction = "do"\ncheck = { kind = "asked" }\n', "needs an intent"),
    ('', "has no \\[\\[steps\\]\\]"),
    ('words = "quantize"\n[[steps]]\nid = "a"\ntext = "x"\n', "words must be a list"),
])
def test_a_bad_tutorial_is_one_clear_error(body, problem):
    with pytest.raises(InvalidInput, match=problem):
        tutorials.parse("t", HEAD + body, set())


def test_name_must_match_file_and_topics_must_be_docs():
    with pytest.raises(InvalidInput, match="does not match the file name"):
        tutorials.parse("other", HEAD + '[[steps]]\nid = "a"\ntext = "x"\n', set())
    with pytest.raises(InvalidInput, match="have no explain doc"):
        tutorials.parse("t", HEAD + 'topics = ["cooking"]\n[[steps]]\nid = "a"\ntext = "x"\n', {"q4-k"})


NOW = time.time()


def rec(kind="benchmark", qt="Q4_K_M", model="smollm2", status="succeeded", age=0.0, artifact=None, kld=0.06):
    return ExperimentRecord(kind=kind, status=status, model=model, model_name=model, quant_type=qt,
                            artifact=artifact, kld_mean=kld if kind == "benchmark" else None,
                            created_at=NOW - age)


A = "/data/artifacts/smollm2/smollm2.Q4_K_M.gguf"
STEP_START = NOW - 60           # the step began a minute ago

CASES = [
    # (check, state, expected ok)
    ({"kind": "none"}, State(), True),
    ({"kind": "artifact", "quant_type": "Q4_K_M", "model": "smollm2"}, State(artifacts=[A]), True),
    ({"kind": "artifact", "quant_type": "Q8_0", "model": "smollm2"}, State(artifacts=[A]), False),
    # another model's artifact of the right type does not count
    ({"kind": "artifact", "quant_type": "Q4_K_M", "model": "gemma3-270m"}, State(artifacts=[A]), False),
    # a record whose artifact file was deleted does not count
    ({"kind": "artifact", "quant_type": "Q4_K_M"}, State(records=[rec("quantize", artifact="/gone.gguf")]), False),
    ({"kind": "artifact", "quant_type": "Q4_K_M"}, State(records=[rec("quantize", artifact="/x/mine.gguf")],
                                                        artifacts=["/x/mine.gguf"]), True),
    # fresh: an artifact made before the step began is not this step's work
    ({"kind": "artifact", "quant_type": "Q4_K_M", "fresh": True},
     State(records=[rec("quantize", artifact=A, age=3600)], artifacts=[A], since=STEP_START), False),
    ({"kind": "artifact", "min_types": 2}, State(artifacts=[A, A.replace("Q4_K_M", "Q8_0")]), True),
    ({"kind": "record", "run": "benchmark", "quant_type": "Q4_K_M"}, State(records=[rec()]), True),
    ({"kind": "record", "run": "benchmark"}, State(records=[rec(status="failed")]), False),
    ({"kind": "record", "run": "benchmark", "measured": "kld_mean"}, State(records=[rec(kld=None)]), False),
    ({"kind": "record", "run": "benchmark", "min_types": 2}, State(records=[rec(), rec()]), False),  # same type twice
    ({"kind": "record", "run": "benchmark", "min_types": 2}, State(records=[rec(), rec(qt="Q8_0")]), True),
    ({"kind": "record", "run": "quantize", "exclude_model": "smollm2"}, State(records=[rec("quantize")]), False),
    ({"kind": "record", "run": "quantize", "exclude_model": "smollm2"},
     State(records=[rec("quantize", model="/home/me/models/qwen")]), True),
    ({"kind": "job", "job_kind": "quantize"}, State(jobs=[{"kind": "quantize", "state": "queued"}]), True),
    ({"kind": "job", "status": "cancelled"}, State(jobs=[{"kind": "quantize", "state": "queued"}]), False),
    ({"kind": "job", "priority": "low"},
     State(jobs=[{"kind": "quantize", "state": "running", "priority": "low"}]), True),
    # fresh: a job queued before the tutorial step (e.g. still running from earlier) is not the user's action
    ({"kind": "job", "fresh": True}, State(jobs=[{"kind": "quantize", "state": "running", "created_at": NOW - 3600}],
                                          since=STEP_START), False),
    ({"kind": "query_asked"}, State(events=[Event("compare")]), True),
    ({"kind": "query_asked", "intent": "query"}, State(events=[Event("compare")]), False),
    ({"kind": "asked", "intent": "explain"}, State(events=[Event("quantize"), Event("explain")]), True),
    ({"kind": "asked", "intent": "jobs", "via": "voice"}, State(events=[Event("jobs", via="text")]), False),
    ({"kind": "asked", "intent": "jobs", "via": "voice"}, State(events=[Event("jobs", via="voice")]), True),
    ({"kind": "asked", "intent": "explain", "min_count": 2}, State(events=[Event("explain")]), False),
]


@pytest.mark.parametrize("check, state, ok", CASES)
def test_check_evaluation(check, state, ok):
    c = tutorials.parse_check("test", check)
    res = evaluate(c, state)
    assert res.ok is ok, res.detail
    assert res.detail and not res.detail[0].isupper()        # a sentence fragment for "… : {detail}"


def test_every_check_kind_has_cases():
    assert {CheckKind(c["kind"]) for c, _, _ in CASES} == set(CheckKind) == set(CHECK_FIELDS)


def test_failed_checks_say_what_is_missing():
    c = Check(CheckKind.ARTIFACT, {"quant_type": "Q8_0", "model": "smollm2"})
    assert evaluate(c, State()).detail == "there is no Q8_0 artifact of smollm2 yet"
    c = Check(CheckKind.RECORD, {"run": "benchmark", "min_types": 2})
    assert evaluate(c, State(records=[rec()])).detail == \
        "succeeded benchmark runs of 1 quant type(s) so far; 2 are needed"


def test_first_tutorial_walks_through_on_real_state_with_a_wrong_step(tmp_path):
    """The first tutorial's checks, step by step, against state that changes the
    way the real commands change it; one step first done wrong (Q8_0 instead
    of Q4_K_M), explained, then retried."""
    t = tutorials.find("first-quantization")
    s = State(since=STEP_START)
    got = [evaluate(step.check, s) for step in t.steps]
    assert [r.ok for r in got] == [True, False, False, False]
    wrong = State(artifacts=[str(tmp_path / "smollm2.Q8_0.gguf")])
    assert not evaluate(t.step("quantize").check, wrong).ok
    assert "Q4_K_M" in t.step("quantize").hint
    right = State(artifacts=[str(tmp_path / "smollm2.Q4_K_M.gguf")], records=[rec()],
                  events=[Event("explain")])
    assert all(evaluate(step.check, right).ok for step in t.steps)


@pytest.mark.parametrize("topic, name", [
    ("quantization", "first-quantization"),          # the parser's topic slot for "teach me how to quantize"
    ("first quantization", "first-quantization"),
    ("about background jobs", "background-jobs"),
    ("benchmarking", "reading-a-benchmark"),
    ("perplexity", "reading-a-benchmark"),            # a doc topic the tutorial teaches
    ("comparison", "choosing-a-quant-type"),
    ("tuning", "tuning-with-a-gate"),
    ("voice", "voice-commands"),
    ("my own model", "using-your-own-model"),
    ("past runs", "asking-about-past-runs"),
    ("knitting", None),
    ("", None),
])
def test_pick_maps_a_topic_to_a_tutorial(topic, name):
    got = tutorials.pick(topic)
    assert (got.name if got else None) == name
