"""Planted payloads for the remote-code tests: tiny model folders whose custom
code (an ``auto_map`` tokenizer, a ``modeling_*.py``) or pickle checkpoint
would write a marker file if anything ran it."""
from __future__ import annotations

import json
from pathlib import Path

PAYLOAD = """import pathlib
pathlib.Path({marker!r}).write_text("payload ran")
from transformers import PreTrainedTokenizer, PretrainedConfig, PreTrainedModel
class EvilTokenizer(PreTrainedTokenizer):
    pass
class EvilConfig(PretrainedConfig):
    model_type = "evil"
class EvilModel(PreTrainedModel):
    config_class = EvilConfig
"""


def _weights(folder: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"model.embed_tokens.weight": np.zeros((8, 8), dtype=np.float16)}, str(folder / "model.safetensors"))


def plant(folder: Path, arch: str, marker: Path, how: str = "tokenizer") -> Path:
    """A model folder of ``arch`` whose code writes ``marker`` when run.
    ``how``: "tokenizer" (auto_map in tokenizer_config.json), "modeling"
    (auto_map in config.json to modeling_evil.py), "loose_py" (a .py file only),
    "pickle" (a pytorch_model.bin whose unpickling runs os.system)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = {"architectures": [arch], "model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 1, "num_key_value_heads": 1, "vocab_size": 8, "intermediate_size": 8,
           "max_position_embeddings": 16, "rms_norm_eps": 1e-6, "seq_length": 16, "kv_channels": 8,
           "layer_norm_epsilon": 1e-6, "rope_theta": 10000.0,
           # keys some converter classes read before they load the tokenizer
           "qk_rope_head_dim": 4, "qk_nope_head_dim": 4, "v_head_dim": 8, "kv_lora_rank": 4,
           "partial_rotary_factor": 0.5, "sliding_window": 16, "head_dim": 8, "layer_norm_eps": 1e-6,
           "moe_intermediate_size": 8, "num_kv_shared_layers": 0, "num_adapters": 1, "first_k_dense_replace": 1,
           "n_groups": 1, "mamba_num_heads": 1, "mamba_head_dim": 8, "ssm_state_size": 4, "conv_kernel": 4,
           "hybrid_override_pattern": "*", "num_experts": 1, "num_experts_per_tok": 1, "n_routed_experts": 1,
           "linear_attn_config": {"kda_layers": [], "full_attn_layers": [1], "head_dim": 8, "num_heads": 1,
                                  "short_conv_kernel_size": 4}}
    code = PAYLOAD.format(marker=str(marker))
    if how == "tokenizer":
        (folder / "tokenization_evil.py").write_text(code)
        (folder / "tokenizer_config.json").write_text(json.dumps(
            {"auto_map": {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]},
             "tokenizer_class": "EvilTokenizer"}))
    elif how == "modeling":
        (folder / "modeling_evil.py").write_text(code)
        cfg["auto_map"] = {"AutoConfig": "modeling_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.EvilModel"}
    elif how == "loose_py":
        (folder / "modeling_custom.py").write_text(code)
    if how == "pickle":
        import pickle

        class Payload:
            def __reduce__(self):
                import os
                return (os.system, (f"echo ran > {marker}",))

        (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
        (folder / "tokenizer.json").write_text("{}")  # so lqmf's own checks let the converter open the weights
    else:
        _weights(folder)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder
