"""The explain docs, their retrieval and the grounded answers: real docs, real
Chroma, real MiniLM embeddings (offline), a real experiment store in a temp
LQMF_HOME. The only fake is the LLM in test_llm_phrasing_*_fake_llm_edge
(an external service we do not own)."""
from __future__ import annotations

import time

import pytest

from lqmf.tools import docs
from lqmf.tools.docs_index import NO_NOTE, DocsIndex, passages
from lqmf.tools.docs_lexical import normalize
from lqmf.tools.quantize.types import quant_types


def test_at_least_40_docs_parse_with_front_matter_and_links():
    all_docs = docs.load()
    assert len(all_docs) >= 40
    assert docs.problems(all_docs) == []          # related links resolve, no alias claimed twice
    for stem, d in all_docs.items():
        assert d.title and d.aliases and d.questions, stem
        assert d.sections and all(s.text for s in d.sections), stem


def test_every_quant_type_has_a_doc_that_names_it():
    owners = {a: stem for stem, d in docs.load().items() for a in d.aliases}
    for t in quant_types():
        assert t.value.lower() in owners, f"no doc lists {t.value} among its aliases"


@pytest.mark.parametrize("text, problem", [
    ("# no front matter\n", r"no \+\+\+ front matter"),
    ("+++\ntitle = \n+++\n# x\n", "not valid TOML"),
    ("+++\naliases = []\n+++\n# x\nbody\n", "has no title"),
    ('+++\ntitle = "x"\nkind = "recipe"\n+++\n# x\nbody\n', "unknown kind"),
])
def test_a_malformed_doc_is_one_clear_error(text, problem):
    from lqmf.tools.errors import InvalidInput

    with pytest.raises(InvalidInput, match=problem):
        docs.parse("bad", text)


@pytest.mark.parametrize("spoken, canonical", [
    ("q four k m", "q4_k_m"), ("Q4-K-M", "q4_k_m"), ("q4km", "q4_k_m"), ("q 5 k s", "q5_k_s"),
    ("q8 0", "q8_0"), ("kay el divergence", "kl divergence"), ("iq4 xs", "iq4_xs"),
])
def test_voice_and_loose_spellings_of_quant_types_normalize(spoken, canonical):
    assert canonical in normalize(spoken)


def test_passages_stay_short_enough_for_minilm():
    for p in passages(docs.load()):
        if not p.id.endswith("#about"):             # (the about passage ends with aliases; a cut drops them)
            assert len(p.text.split()) <= 110, p.id     # MiniLM reads 128 tokens per text


def _write(folder, stem, title, alias, body):
    (folder / f"{stem}.md").write_text(
        f'+++\ntitle = "{title}"\naliases = ["{alias}"]\nquestions = ["What is {title}?"]\n+++\n# {title}\n{body}\n',
        encoding="utf-8")


def test_index_is_rebuilt_when_the_docs_change(tmp_path):
    folder = tmp_path / "explain"
    folder.mkdir()
    _write(folder, "alpha", "Alpha widgets", "alpha", "Alpha widgets hold cached tensors.")
    _write(folder, "beta", "Beta gadgets", "beta", "Beta gadgets schedule jobs.")
    where = tmp_path / "index"
    idx = DocsIndex(folder=folder, path=where)
    assert idx.search("what is a beta gadget", k=1)[0].doc == "beta"
    first_hash = idx.collection().metadata["content_hash"]
    # same content, new process: the stored collection is reused, not rebuilt
    again = DocsIndex(folder=folder, path=where)
    assert again.collection().metadata["content_hash"] == first_hash
    time.sleep(0.01)
    _write(folder, "gamma", "Gamma sprockets", "gamma", "Gamma sprockets measure voltage.")
    fresh = DocsIndex(folder=folder, path=where)
    assert fresh.hash != first_hash
    assert fresh.collection().metadata["content_hash"] == fresh.hash
    assert fresh.search("gamma sprockets voltage", k=1)[0].doc == "gamma"
    assert fresh.collection().count() == len(passages(fresh.docs))


def test_search_names_doc_and_section_and_scores_off_topic_low():
    from lqmf.tools.docs_index import search

    hit = search("why is my Q2_K so bad?", k=3)[0]
    assert (hit.doc, hit.section) == ("q2-k", "Why it is so bad")
    assert hit.answers and "four levels" in hit.text
    assert not search("how do I bake sourdough bread", k=3)[0].answers
    assert search("", k=3) == []


def _bench(qt, kld, ppl_delta, top1, size, tok, model="smollm2"):
    from lqmf.tools.store.records import ExperimentRecord

    return ExperimentRecord(kind="benchmark", status="succeeded", model=model, model_name=model,
                            method="gguf", quant_type=qt, kld_mean=kld, ppl_delta_pct=ppl_delta,
                            top1_pct=top1, size_bytes=int(size), gen_tok_s=tok)


def test_why_is_my_q2k_bad_answers_with_the_users_own_numbers_from_the_store():
    from lqmf.copilot.explain import answer
    from lqmf.tools.store.experiments import default_store

    store = default_store()
    store.add(_bench("Q2_K", 0.4123, 48.2, 61.5, 88e6, 120))
    store.add(_bench("Q4_K_M", 0.0621, 7.9, 85.2, 105e6, 101))
    store.add(_bench("Q8_0", 0.0046, 0.4, 97.1, 145e6, 80))
    a = answer("Why is my Q2_K so bad?", use_llm=False, store=store)
    assert a.doc == "q2-k" and a.source == "knowledge/explain/q2-k.md"
    assert "from knowledge/explain/q2-k.md" in a.text
    assert "Your Q2_K of smollm2: mean KLD 0.4123, Δppl +48.2%, top-1 61.5%" in a.text
    # held against the same model's best other type
    assert "Your Q8_0 of the same model: mean KLD 0.0046" in a.text
    assert "four levels per weight" in a.text          # the doc's explanation, next to the numbers
    assert "smollm2 is a bundled model whose weights come from a Q4_1 file" in a.text


def test_a_type_never_measured_gets_the_doc_without_numbers():
    from lqmf.copilot.explain import answer

    a = answer("why is my Q3_K_M slow", use_llm=False)
    assert a.doc == "q3-k" and a.own == [] and "Your " not in a.text


def test_no_note_gives_nearest_topics_and_no_invented_answer():
    from lqmf.copilot.explain import answer, explain

    a = answer("what's the capital of australia", use_llm=False)
    assert a.doc is None
    assert a.text.startswith("I don't have a note on 'what's the capital of australia'. The nearest topics I have: ")
    assert a.text.count(",") == 2 and a.text.endswith(".")
    assert "I don't have a note on 'sourdough'" in explain("sourdough")
    assert explain(None).startswith("What should I explain? I have notes on: ")


def test_llm_phrasing_is_kept_when_grounded_fake_llm_edge(monkeypatch):
    from lqmf.copilot import explain as ex
    from lqmf.copilot import llm

    prompts_seen = []

    def fake(text, history):
        prompts_seen.append(text)
        return "Q8_0 keeps 8 bits per weight, 8.5 with its scales, and is nearly lossless."
    monkeypatch.setattr(llm, "reply", fake)
    a = ex.answer("is Q8 basically the same as the original model?")
    assert a.phrased and a.doc == "q8-0"
    assert a.text.endswith("(Source: knowledge/explain/q8-0.md)")
    assert "Use no fact, number or claim that is not in the note" in prompts_seen[0]
    assert "8.5 bits per weight" in prompts_seen[0]              # the retrieved note is in the prompt


def test_llm_phrasing_with_an_unsourced_number_falls_back_to_the_note_fake_llm_edge(monkeypatch):
    from lqmf.copilot import explain as ex
    from lqmf.copilot import llm

    monkeypatch.setattr(llm, "reply", lambda text, history: "Q8_0 loses exactly 3.7% quality.")
    a = ex.answer("is Q8 basically the same as the original model?")
    assert not a.phrased and "3.7" not in a.text and "from knowledge/explain/q8-0.md" in a.text
    monkeypatch.setattr(llm, "reply", lambda text, history: "NO_ANSWER")
    assert not ex.answer("is Q8 basically the same as the original model?").phrased


def test_threshold_is_the_documented_one():
    assert 0.2 < NO_NOTE < 0.35


def test_llm_phrasing_with_the_real_bundled_gguf_stays_grounded(monkeypatch):
    """The real local LLM path (llama-cpp-python on the bundled SmolLM2): whatever
    the tiny model writes, the answer names its doc and cites no number that is
    not in the note."""
    pytest.importorskip("llama_cpp")

    from lqmf.copilot import explain as ex
    from lqmf.copilot import llm
    from lqmf.tools.models import _bundled_file, catalog_entry

    monkeypatch.setenv("LQMF_CHAT_LLM", "gguf")
    monkeypatch.setenv("LQMF_CHAT_LLM_MODEL", str(_bundled_file(catalog_entry("smollm2"))))
    assert llm.provider() is not None   # built for this configuration; nothing to reset afterwards
    a = ex.answer("what does Q8_0 mean?")
    assert a.doc == "q8-0" and "knowledge/explain/q8-0.md" in a.text
    body = a.text.rsplit("(Source:", 1)[0]
    assert "The user's own numbers" not in body and "Question:" not in body     # no echoed scaffolding
    if a.phrased:
        d = docs.load()["q8-0"]
        assert ex.grounded(body, d.headline + " ".join(s.text for s in d.sections) + " what does Q8_0 mean?")


def test_phrasing_cues_point_past_the_named_topic_and_every_cue_names_a_doc():
    from lqmf.tools.docs_index import search
    from lqmf.tools.docs_lexical import Cues

    cues = docs.cues()
    assert cues and set(cues) <= set(docs.load())        # a cue for a doc that is gone is a typo
    c = Cues(cues)
    # table-driven: each names a quant type or a metric, but asks about something else
    for question, stem in [("convert my q8 gguf to q4 gguf", "requantization"),
                           ("compare my q4 and q8 runs", "queries"),
                           ("what text do you measure quality on", "eval-text")]:
        assert stem in c.hits(question), question
    assert c.hits("what text should I feed gptq for calibration") == {"calibration": 1.0}   # not the eval text
    assert search("convert my q8 gguf to q4 gguf", k=1)[0].doc == "requantization"


def test_a_bad_cue_pattern_is_one_clear_error(tmp_path):
    (tmp_path / "cues.toml").write_text('"q2-k" = ["(unclosed"]\n', encoding="utf-8")
    with pytest.raises(docs.InvalidInput, match="not a valid regular expression"):
        docs.cues(tmp_path)
