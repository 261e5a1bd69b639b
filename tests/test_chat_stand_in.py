"""Issue [10], round 3: a model the user names that is known but not on this machine gets one
yes/no offer of the closest local model (with why the named one cannot be used and how to get
it), and a follow-up ("actually make it 8GB") changes the last query or recommendation instead
of starting over. Real parser, graph, checkpointer and catalog; jobs are the scheduler's quick
noop kind (the test hook), no worker; the Hugging Face cache is an empty temp folder (no hub)."""
from __future__ import annotations


import pytest

from tests.chat_fixtures import plain_chat


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def chat(tmp_path, monkeypatch, empty_hf_cache):
    monkeypatch.setenv("LQMF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LQMF_CHROMA_URL", raising=False)
    with plain_chat() as say:
        yield say


# (what the user names, the local model offered, words of why that one)
STAND_INS = [
    ("tinyllama", "smollm2", "same llama architecture"),          # family first
    ("tiny llama", "smollm2", "same llama architecture"),         # an alias, as voice writes it
    ("gemma-3-1b", "gemma3-270m", "same gemma3 architecture"),    # the other bundled model's family
    ("google/gemma-2-2b-it", "gemma3-270m", "also from google"),  # a hub id: gemma2 is no local family, the maker is
    ("Qwen/Qwen3-4B", "smollm2", "bundled"),                      # nothing alike here: the bundled default
    ("some-org/some-model-7b", "smollm2", "bundled"),             # a hub id the catalog does not know
]


@pytest.mark.parametrize("ref,offered,why", STAND_INS)
def test_stand_in_is_the_closest_local_model(empty_hf_cache, ref, offered, why):
    from lqmf.tools.stand_in import stand_in

    got = stand_in(ref)
    assert got is not None and got.model == offered and why in got.why, got
    assert "huggingface-cli download" in got.fix and "not in the local Hugging Face cache" in got.problem


@pytest.mark.parametrize("ref", ["smollm2", "gemma3", "zzz-not-a-model-42", "./no/such/folder", "x.gguf"])
def test_no_stand_in_for_what_is_here_or_names_nothing(empty_hf_cache, ref):
    # here: nothing to offer; a typo or a bad path: its own sentence, not a guess at another model
    from lqmf.tools.stand_in import stand_in

    assert stand_in(ref) is None


def test_a_cached_model_is_local_and_offered_for_its_family(empty_hf_cache):
    from lqmf.tools.stand_in import local_models, stand_in

    snap = empty_hf_cache / "models--Qwen--Qwen2.5-0.5B-Instruct" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("abc")
    assert "qwen2.5-0.5b" in [e["name"] for e in local_models()]
    got = stand_in("qwen2.5-7b")
    assert got is not None and got.model == "qwen2.5-0.5b" and "qwen2" in got.why


def test_quantize_a_model_not_here_offers_the_bundled_one_in_one_question(chat):
    out, calls, q = chat("quantize tinyllama to q4_k_m")
    assert not calls and q.get("slot") == "confirm" and "smollm2 instead" in q.get("prompt", "")
    assert "huggingface-cli download TinyLlama/TinyLlama-1.1B-Chat-v1.0" in out
    assert "quantize smollm2 to Q4_K_M" in out
    out, calls, q = chat("yes")
    assert [(c["tool"], c["args"].get("model"), c["args"].get("quant_type")) for c in calls] == \
        [("quantize", "smollm2", "Q4_K_M")] and not q
    out, calls, q = chat("benchmark it")               # "it" is what was made, not the missing model
    assert q.get("slot") == "confirm" and "benchmark smollm2 Q4_K_M" in out


def test_the_offer_can_be_declined_or_changed(chat):
    out, calls, q = chat("benchmark qwen3-8b")
    assert q.get("slot") == "confirm"
    out, calls, q = chat("no")
    assert "nothing was started" in out and not calls and not q
    chat("quantize llama-3.1-8b to q4_k_m")
    out, calls, q = chat("make it q8_0")
    assert q.get("slot") == "confirm" and "smollm2 to Q8_0" in out
    out, calls, q = chat("yes")
    assert [(c["tool"], c["args"].get("model"), c["args"].get("quant_type")) for c in calls] == \
        [("quantize", "smollm2", "Q8_0")]


def test_no_type_given_the_offer_comes_with_the_type_question(chat):
    out, calls, q = chat("quantize phi-3-mini")
    assert q.get("slot") == "quant_type" and "phi-3-mini is not on this machine" in out and "smollm2" in out


def test_an_unknown_name_is_one_sentence_and_a_question_without_an_offer(chat):
    out, calls, q = chat("quantize zzz-not-a-model-42 to q4_k_m")
    # no stand-in is offered for a name the catalog does not know; the request waits for a model that is here
    assert "unknown model" in out.lower() and q.get("slot") == "model" and "instead" not in out


# (first question, its tool and the slots to check, the follow-up, the slots it must end with)
FOLLOW_UPS = [
    ("what's a good chat model for a 4gb gpu", "recommend", "make it 8 gb",
     {"task": "chat", "vram_gb": 8}),                       # a bare size is the memory the question named
    ("a coding model for my laptop with 8gb of ram", "recommend", "what about 32gb",
     {"task": "code", "ram_gb": 32}),
    ("what should i use for stories on a 6gb card", "recommend", "actually for code",
     {"task": "code", "vram_gb": 6}),                       # the task changes, the card stays
    ("show my fastest models", "query", "only the ones under 1gb",
     {"sort": "speed", "order": "desc", "max_size_gb": 1}),
    ("list my models under 3gb", "query", "actually under 500 mb",
     {"max_size_gb": 0.5}),
]


@pytest.mark.parametrize("first,tool,then,want", FOLLOW_UPS)
def test_a_follow_up_changes_the_last_question(chat, first, tool, then, want):
    _, calls, _ = chat(first)
    assert [c["tool"] for c in calls] == [tool]
    _, calls, q = chat(then)
    assert [c["tool"] for c in calls] == [tool] and not q, calls
    assert {k: calls[0]["args"].get(k) for k in want} == want, calls[0]["args"]


def test_a_fresh_question_is_not_merged_with_the_last(chat):
    chat("best chat model for a 6gb gpu?")
    _, calls, _ = chat("I need a model for creative writing with 16gb of ram")
    assert calls and calls[0]["tool"] == "recommend"
    assert calls[0]["args"].get("task") == "creative" and "vram_gb" not in calls[0]["args"], calls[0]["args"]


@pytest.mark.parametrize("then", ["now do the same for gemma3", "same for gemma3-270m please", "gemma3 too"])
def test_the_same_task_on_another_model(chat, then):
    chat("quantize smollm2 to q6_k")
    chat("yes")
    out, calls, q = chat(then)
    assert q.get("slot") == "confirm" and "gemma3-270m to Q6_K" in out, out
    _, calls, _ = chat("yes")
    assert [(c["tool"], c["args"].get("model"), c["args"].get("quant_type")) for c in calls] == \
        [("quantize", "gemma3-270m", "Q6_K")]


@pytest.mark.parametrize("said", ["what models do i have here?", "which models are installed", "what models are on my machine", "list the models on this machine"])
def test_what_is_on_this_machine_lists_the_local_models(chat, said):
    out, calls, q = chat(said)
    assert [c["tool"] for c in calls] == ["models"] and not q
    assert "Models on this machine" in out and "smollm2" in out and "bundled" in out
    assert "tinyllama" not in out.split("more models")[0]      # the catalog's others are not "on this machine"


def test_past_models_with_a_filter_stay_a_query(chat):
    _, calls, _ = chat("my smallest models i have under 1gb")
    assert [c["tool"] for c in calls] == ["query"]


@pytest.mark.parametrize("asked", ["how big will it be?", "how long will that take", "will it fit on my disk?"])
def test_a_question_about_the_waiting_plan_is_answered_and_the_plan_kept(chat, asked):
    chat("quantize smollm2 to q8_0")
    out, calls, q = chat(asked)
    assert not calls and q.get("slot") == "confirm" and "about 143 MB" in out and "Nothing has started" in out
    _, calls, _ = chat("yes")
    assert [c["tool"] for c in calls] == ["quantize"]


@pytest.mark.parametrize("asked", ["what models do i have", "list my models", "which models have i got"])
def test_models_asked_without_a_filter_list_what_is_here_and_what_was_made(chat, asked):
    out, calls, _ = chat(asked)          # the inventory: the models here, then the ones made (none yet)
    assert [c["tool"] for c in calls] == ["models"] and "smollm2" in out and "No quantized models made yet" in out


# a yes or a no in more words than the fixed lists; None: neither (answered as small talk or a change)
ANSWERS = [
    ("ok sure", True), ("go for it", True), ("yeah sure, go ahead", True), ("sure thing", True),
    ("why not", True), ("nah forget it", False), ("no, not now thanks", False), ("oh no, stop it", False),
    ("cool thanks", None),          # small talk: the plan waits
    ("yes but use q8_0", None),     # a change, not a plain yes
    ("no wait, q5_k_m", None),      # a change, not a plain no
    ("run it on gemma3", None),     # names something: not a bare yes
]


@pytest.mark.parametrize("said,want", ANSWERS)
def test_yes_and_no_in_several_words(said, want):
    from lqmf.copilot.nodes import words

    assert (words.is_yes(said), words.is_no(said)) == (want is True, want is False)


@pytest.mark.parametrize("said", ["hmm make it q8_0 instead", "oh wait, actually q8_0", "use q8_0 instead"])
def test_a_change_of_mind_after_a_filler_replaces_the_job(chat, said):
    chat("quantize smollm2 to q4_k_m")
    chat("yes")
    out, _, q = chat(said)
    assert q.get("slot") == "confirm" and "cancel job" in out, out
    _, calls, _ = chat("yes")
    assert [c["tool"] for c in calls] == ["cancel", "quantize"] and calls[1]["args"]["quant_type"] == "Q8_0"


@pytest.mark.parametrize("said,which", [("cancel the second one", 1), ("stop the first one", 0),
                                        ("cancel the q8_0 job", 1), ("kill the Q4_K_M one", 0)])
def test_cancel_names_one_of_several_jobs(chat, said, which):
    import re

    chat("quantize smollm2 to q4_k_m and q8_0")
    out, _, _ = chat("yes")
    ids = re.findall(r"Submitted job (\w+): quantize smollm2 to (?:Q4_K_M|Q8_0)", out)
    assert len(ids) == 2, out
    out, calls, q = chat(said)
    assert [c["tool"] for c in calls] == ["cancel"] and not q, out
    assert calls[0]["args"]["job_id"] == ids[which] and "cancelled" in out.lower()


@pytest.mark.parametrize("said", ["no idea what to do here", "where do i even start?", "what am i supposed to type",
                                  "i don't know what to ask"])
def test_a_lost_user_gets_the_help(chat, said):
    out, calls, q = chat(said)
    assert [c["tool"] for c in calls] == ["help"] and not q and "didn't understand" not in out


@pytest.mark.parametrize("said", ["i don't know which quant type is best for smollm2", "what should i do with q4_k_m"])
def test_a_real_question_is_not_read_as_lost(said):
    from lqmf.copilot.nodes import words

    assert not words.is_lost(said)
