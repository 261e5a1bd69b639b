"""Terms said letter by letter (copilot/parser/spelled.py), quant types read from their
declared words (double quantization, round-to-nearest), and the answers a person gives
a question in more words: a yes wrapped in thanks, or leaving the choice to the copilot
(copilot/nodes/words.py). Sentences of my own, not the eval sets'."""
from __future__ import annotations

import pytest

from lqmf.copilot.nodes import words
from lqmf.copilot.parser import parse
from lqmf.tools.spelled import join_spelled
from lqmf.copilot.parser.text import normalize


@pytest.mark.parametrize("said, quant_type", [
    ("quantize smollm2 to cue two kay", "Q2_K"),
    ("make gemma queue five kay ess", "Q5_K_S"),
    ("smollm2 in kew three kay el please", "Q3_K_L"),
    ("quantize smollm2 to cue five oh", "Q5_0"),
    ("quantize smollm2 to q5 kay em", "Q5_K_M"),
    ("gemma at eye cue four en el", "IQ4_NL"),
    ("quantize smollm2 to eye cue three ex ex ess", "IQ3_XXS"),
    ("load smollm2 in en eff four", "NF4"),
    ("quantize smollm2 to ef pee four", "FP4"),
    ("convert smollm2 to ef sixteen", "F16"),
])
def test_a_quant_type_said_letter_by_letter(said, quant_type):
    assert parse(said)["slots"].get("quant_type") == quant_type


@pytest.mark.parametrize("said, method, bits", [
    ("quantize smollm2 with gee pee tee queue eight bit", "gptq", 8),
    ("quantize smollm2 with ay double you queue at four bit", "awq", 4),
])
def test_a_method_said_letter_by_letter_with_a_bit_width(said, method, bits):
    # a method and a width, not an exact type: the contract's form (CONTRACT.md, '4-bit gguf')
    slots = parse(said)["slots"]
    assert (slots.get("method"), slots.get("bits"), slots.get("quant_type")) == (method, bits, None)


@pytest.mark.parametrize("text", [
    "what's in the queue right now",
    "see you later",
    "why is it so slow",
    "oh ok thanks",
    "are you still there",
    "queue 3 more jobs",
    "be quick please",
])
def test_words_that_are_letter_names_keep_their_meaning(text):
    assert join_spelled(normalize(text)) == normalize(text)


@pytest.mark.parametrize("said, joined", [
    ("a double you cue", "awq"),
    ("kay el divergence", "kl divergence"),
    ("kay vee cache", "kv cache"),
    ("see pee you only", "cpu only"),
])
def test_acronyms_said_letter_by_letter(said, joined):
    assert normalize(said) == joined


@pytest.mark.parametrize("said, quant_type", [
    ("quantize smollm2 to nf4 with double quantization", "NF4_DQ"),
    ("smollm2 as nf4 + dq", "NF4_DQ"),
    ("quantize smollm2 to double quantized nf4", "NF4_DQ"),
    ("gemma to fp4 plus the double quant", "FP4_DQ"),
    ("quantize smollm2 to fp4", "FP4"),
    ("quantize smollm2 with rtn 8 bit", "RTN_8BIT"),
    ("smollm2 round-to-nearest at 4 bits", "RTN_4BIT"),
    ("quantize smollm2 to 8 bit round to nearest", "RTN_8BIT"),
    ("quantize smollm2 to 8 bit", None),
])
def test_declared_words_name_the_longest_type(said, quant_type):
    assert parse(said)["slots"].get("quant_type") == quant_type


def test_an_explain_topic_keeps_the_users_words_for_a_worded_type():
    assert parse("tell me about double quantization")["slots"] == {"topic": "double quantization"}
    assert parse("what does q 4 k m mean")["slots"] == {"topic": "q4_k_m"}


@pytest.mark.parametrize("text, intent", [
    ("smollm2 to q2_k and then benchmark it", "quantize"),
    ("gemma3-270m as q5_0, then test it", "quantize"),
    ("benchmark smollm2 q2_k", "benchmark"),
    ("is imatrix worth it for iq2 types", "explain"),
    ("was that one any good", "benchmark"),
])
def test_made_then_measured_and_worth_it_questions(text, intent):
    assert parse(text)["intent"] == intent


@pytest.mark.parametrize("text, yes", [
    ("yes, that would be lovely, thank you so much", True),
    ("sure, really appreciate it", True),
    ("yeah do it please, cheers", True),
    ("yes but use gemma", False),
    ("yes that would be a disaster", False),
    ("ok wait no", False),
])
def test_a_yes_in_more_words(text, yes):
    assert words.is_yes(text) is yes


@pytest.mark.parametrize("text, defers", [
    ("whatever you recommend", True),
    ("dunno, your call", True),
    ("you know best", True),
    ("the usual one", True),
    ("surprise me", True),
    ("i don't mind", True),
    ("q5_k_m", False),
    ("the second", False),
    ("you pick the fastest one", False),
    ("whatever is smallest", False),
])
def test_an_answer_that_leaves_the_choice_to_the_copilot(text, defers):
    assert words.defers(text) is defers
