"""Pure pieces of the copilot, table-driven: routers, reducers, conversation
words, input cleaning, and that every registry is complete."""
from __future__ import annotations

import pytest

from lqmf.copilot.nodes import words
from lqmf.copilot.repl import MAX_INPUT, clean
from lqmf.copilot.state import RESET, AskResult, Intent, merge_dict, turn_blocks, upsert_tracked


@pytest.mark.parametrize("state,node", [
    ({"question": {"slot": "confirm"}, "plan": [{"id": "s0"}]}, "ask"),   # a question beats the steps
    ({"plan": [{"id": "s0"}]}, "act"),
    ({}, "respond"),
])
def test_after_plan(state, node):
    from lqmf.copilot.graph import after_plan

    assert after_plan(state) == node


@pytest.mark.parametrize("result,node", [
    (AskResult.CONFIRMED, "act"), (AskResult.DROPPED, "respond"),
    (AskResult.REDIRECT, "understand"), (AskResult.ANSWERED, "plan"),
])
def test_after_ask(result, node):
    from lqmf.copilot.graph import after_ask

    assert after_ask({"ask_result": result.value}) == node


def test_reducers():
    assert merge_dict({"a": 1, "b": 2}, {"b": None, "c": 3}) == {"a": 1, "b": None, "c": 3}
    assert merge_dict({"a": 1}, None) == {}                      # None clears the request
    assert turn_blocks([{"kind": "text"}], [RESET, {"kind": "warn"}]) == [{"kind": "warn"}]
    assert turn_blocks([{"kind": "text"}], [{"kind": "warn"}]) == [{"kind": "text"}, {"kind": "warn"}]
    got = upsert_tracked([{"job_id": "a", "status": "queued"}], [{"job_id": "a", "status": "succeeded"},
                                                                 {"job_id": "b", "status": "queued"}])
    assert got == [{"job_id": "a", "status": "succeeded"}, {"job_id": "b", "status": "queued"}]


@pytest.mark.parametrize("text,n", [
    ("the second one", 2), ("2", 2), ("#3", 3), ("first", 1), ("the last one", -1),
    ("pick the third", 3), ("show me the 2nd row", 2),
    ("quantize the second model", None),   # an ordinal inside a request is not a pick
    ("two models please", None),
])
def test_ordinals(text, n):
    assert words.ordinal(text) == n


@pytest.mark.parametrize("text,yes,no", [
    ("yes", True, False), ("Go ahead!", True, False), ("y", True, False), ("never mind", False, True),
    ("no.", False, True), ("maybe", False, False),
])
def test_yes_no(text, yes, no):
    assert (words.is_yes(text), words.is_no(text)) == (yes, no)


@pytest.mark.parametrize("raw,text,noted", [
    ("  quantize \t smollm2  ", "quantize smollm2", False),
    ("\x1b[31mhello\x1b[0m\x00\x07", "hello", False),          # ANSI colour and control bytes dropped
    ("a" * (MAX_INPUT + 5), "a" * MAX_INPUT, True),             # a huge paste is cut, with a note
    ("", "", False),
])
def test_clean(raw, text, noted):
    got, note = clean(raw)
    assert got == text and bool(note) == noted


def test_registries_are_complete():
    from lqmf.copilot.nodes.plan import PLANNERS
    from lqmf.copilot.tools_registry import REGISTRY, ToolName, describe

    assert set(PLANNERS) == set(Intent)
    assert set(REGISTRY) == set(ToolName)
    assert all(describe().values())                               # every tool has a description


def test_explain_docs_are_found():
    from lqmf.copilot.explain import explain, find

    for topic in ("q4_k_m", "gguf", "gptq", "nf4", "kl divergence", "perplexity", "imatrix", "kld"):
        assert find(topic), topic
    assert "I don't have a note on 'sourdough'" in explain("sourdough")
