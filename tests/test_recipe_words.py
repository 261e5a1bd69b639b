"""A quantize request's recipe in words (copilot/nodes/recipe_words.py), and the chat
that carries it to the job: GPTQ's group size, act order and calibration text, and
GGUF's importance matrix. Sentences of my own, not the CLI's flags."""
from __future__ import annotations

import pytest

from tests.chat_fixtures import plain_chat


@pytest.mark.parametrize("text, recipe", [
    ("quantize smollm2 to 4-bit gptq with group size 64", {"group_size": "64"}),
    ("gptq 4 bit, groupsize=32 please", {"group_size": "32"}),
    ("gptq 8bit g128 on gemma", {"group_size": "128"}),
    ("use groups of 64 and act order", {"group_size": "64", "desc_act": "true"}),
    ("gptq 4-bit with desc_act", {"desc_act": "true"}),
    ("gptq 4 bit without act order", {"desc_act": "false"}),
    ("gptq with desc act off", {"desc_act": "false"}),
    ("gptq 4-bit, one group per row", {"group_size": "-1"}),
    ("gptq 4 bit calibrated on code", {"calibration": "code"}),
    ("quantize it with gptq, calibrate with some programming text", {"calibration": "code"}),
    ("use the fiction text as calibration for gptq", {"calibration": "creative"}),
    ("gptq, calibration data from ./my_corpus.txt", {"calibration": "./my_corpus.txt"}),
    ("q4_k_m with an imatrix", {"imatrix": "chat"}),
    ("IQ3_M using an importance matrix from the math text", {"imatrix": "math"}),
    ("q4_k_m with a code imatrix", {"imatrix": "code"}),
    ("q4_k_m with an imatrix calibrated on stories", {"imatrix": "creative"}),
    ("q4_k_m without an imatrix", {}),
    ("quantize smollm2 to q4_k_m", {}),
    ("quantize smollm2 to 4 bits, 64 gb ram machine", {}),
    ("quantize gemma3-270m to q8_0 and benchmark it", {}),
])
def test_recipe_words(text, recipe):
    from lqmf.copilot.nodes.recipe_words import read

    assert read(text) == recipe


def test_gptq_options_in_the_chat_reach_the_queued_job(chat_env):
    import lqmf.tools.scheduler as s

    with plain_chat(run_as=None) as say:   # the real quantize kind, checked at submission; no worker
        out, calls, pending = say("quantize smollm2 to 4-bit with gptq, group size 64 and act order")
        assert pending.get("slot") == "confirm", out
        assert "GPTQ_4BIT" in out and "group size 64" in out and "act order" in out
        out, calls, pending = say("yes")
    assert [c["tool"] for c in calls] == ["quantize"]
    assert calls[0]["args"]["recipe"] == {"group_size": "64", "desc_act": "true"}
    job = s.list()[0]
    assert job.kind.value == "quantize" and job.args["quant_type"] == "GPTQ_4BIT"
    assert job.args["recipe"] == {"group_size": "64", "desc_act": "true"}


def test_a_group_size_alone_means_gptq_and_the_question_offers_its_types(chat_env):
    with plain_chat() as say:
        out, _, pending = say("quantize smollm2 with group size 32")
        assert pending.get("slot") == "quant_type"
        assert pending.get("choices", [])[:2] == ["GPTQ_4BIT", "GPTQ_8BIT"]
        out, _, pending = say("GPTQ_8BIT")
        assert pending.get("slot") == "confirm" and "group size 32" in out


def test_an_option_added_while_the_plan_waits_changes_the_plan(chat_env):
    with plain_chat() as say:
        say("quantize smollm2 to gptq 4 bit with group size 64")
        out, calls, pending = say("and use act order too")
        assert not calls and pending.get("slot") == "confirm"
        assert "group size 64, act order" in out
        _, calls, _ = say("yes")
    assert calls[0]["args"]["recipe"] == {"group_size": "64", "desc_act": "true"}


@pytest.mark.parametrize("text, says", [
    ("quantize smollm2 to q4_k_m with group size 64", "apply to GPTQ types"),
    ("quantize smollm2 to gptq 4-bit with group size 100", "not a group size GPTQModel takes"),
    ("quantize smollm2 with round to nearest 4 bit gptq RTN_4BIT and act order", "round-to-nearest"),
    ("quantize smollm2 to gptq 4 bit calibrated on ./nowhere/none.txt", "neither a calibration use nor a text file"),
])
def test_an_option_that_does_not_fit_is_one_sentence_before_any_job(chat_env, text, says):
    import lqmf.tools.scheduler as s

    with plain_chat() as say:
        out, calls, pending = say(text)
    assert says in out and "Traceback" not in out
    assert not calls and not pending.get("slot") and s.list() == []
