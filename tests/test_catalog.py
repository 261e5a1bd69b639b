"""The model catalog's facts checked against each other and against llama.cpp's
converter (taken from the llama-cpp-python sdist at setup)."""
from __future__ import annotations

import pytest

from lqmf.tools.catalog import catalog, implied_params

TOLERANCE = 0.03  # biases and norms the shape formula leaves out stay under 3 %


def test_the_catalog_covers_what_people_run_locally():
    names = {f.name for f in catalog()}
    assert len(names) >= 40
    for needed in ("llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "qwen2.5-0.5b", "qwen2.5-14b", "qwen3-0.6b",
                   "qwen3-14b", "mistral-7b", "mistral-nemo", "phi-3-mini", "phi-3.5-mini", "phi-4-mini",
                   "gemma-2-2b", "gemma-2-9b", "gemma3-270m", "gemma-3-12b", "smollm2", "tinyllama",
                   "deepseek-r1-qwen-7b", "qwen2.5-coder-7b", "deepseek-coder-6.7b", "starcoder2-3b",
                   "qwen2.5-math-7b"):
        assert needed in names, needed


@pytest.mark.parametrize("facts", catalog(), ids=lambda f: f.name)
def test_parameters_agree_with_layers_hidden_size_and_vocab(facts):
    implied = implied_params(facts) / 1e9
    assert abs(implied / facts.params_b - 1) <= TOLERANCE, (facts.name, facts.params_b, round(implied, 3))


@pytest.mark.parametrize("facts", catalog(), ids=lambda f: f.name)
def test_every_fact_has_its_source_and_is_consistent(facts):
    from lqmf.tools.recommend.rank import TASKS

    assert facts.source == f"https://huggingface.co/{facts.hub_id}/blob/main/config.json"
    assert facts.entry["card"] == f"https://huggingface.co/{facts.hub_id}"
    assert facts.heads % facts.kv_heads == 0          # grouped-query attention: whole groups
    assert facts.context >= 2048 and facts.license and facts.released
    assert set(facts.tasks) <= set(TASKS) and facts.tasks


def test_every_architecture_is_one_the_converter_supports_or_is_marked():
    from lqmf.tools.recommend.oracle import converter_architectures

    archs = converter_architectures()
    if archs is None:
        pytest.skip("llama.cpp's converter is not installed (run `lqmf setup`)")
    for f in catalog():
        assert f.architecture in archs or f.entry.get("converter") is False, f"{f.name}: {f.architecture}"


def test_the_bundled_entries_still_resolve():
    from lqmf.tools.models import bundled_models, catalog_entry

    for name in ("smollm2", "gemma3-270m"):
        assert catalog_entry(name)["bundled"]
    assert "smollm2" in bundled_models()


def test_a_local_config_json_gives_the_facts_of_a_model_not_in_the_catalog(tmp_path):
    import json

    from lqmf.copilot.app.recommend import model_facts

    (tmp_path / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "num_hidden_layers": 30,
        "num_attention_heads": 9, "num_key_value_heads": 3, "intermediate_size": 1536, "vocab_size": 49152,
        "tie_word_embeddings": True, "max_position_embeddings": 8192}))
    f = model_facts(str(tmp_path))
    assert f.architecture == "LlamaForCausalLM" and f.kv_heads == 3 and f.head_dim == 64
    assert abs(f.params_b - 0.135) < 0.002   # SmolLM2-135M's shape
