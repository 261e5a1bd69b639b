"""The store's embedder (tools/store/minilm.py, plain torch) against the reference
implementation, sentence-transformers, on the same package's weights."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from lqmf.tools.errors import LqmfError

TEXTS = ["", "a", "show me my gemma 3 270m runs", "ünïcødé 量化 模型 🙂 runs",
         "smollm2 Q4_K_M gguf perplexity 12.3 kld 0.02 " * 40,   # past the 128-token cut
         "the smallest smollm2 quant whose KL divergence stays under 0.05"]


def _reference(dtype):
    st = pytest.importorskip("sentence_transformers")
    from lqmf.tools.store.embeddings import MAX_SEQ_TOKENS, Embedder

    ref = st.SentenceTransformer(Embedder.model_path(), device="cpu")
    ref.max_seq_length = MAX_SEQ_TOKENS
    v = ref.to(dtype).encode(TEXTS, normalize_embeddings=True, convert_to_tensor=True).float()
    return v / v.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("dtype_name, floor", [("float32", 0.999999), ("bfloat16", 0.999)])
def test_vectors_match_sentence_transformers(dtype_name, floor):
    import torch

    from lqmf.tools.store.embeddings import MAX_SEQ_TOKENS, Embedder
    from lqmf.tools.store.minilm import MiniLM

    dtype = getattr(torch, dtype_name)
    ours = MiniLM(Embedder.model_path(), MAX_SEQ_TOKENS).to(dtype).encode(TEXTS, batch_size=4)
    ref = _reference(dtype)
    cos = (ours * ref).sum(1)
    assert ours.shape == (len(TEXTS), 384) and cos.min().item() > floor, cos
    assert torch.allclose(ours.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)
    # order and batching do not change a text's vector
    again = MiniLM(Embedder.model_path(), MAX_SEQ_TOKENS).to(dtype).encode(TEXTS[::-1], batch_size=1)
    assert torch.allclose(again.flip(0), ours, atol=1e-2 if dtype_name == "bfloat16" else 1e-5)


def test_a_folder_that_is_not_a_mean_pooled_bert_is_refused_in_one_sentence(tmp_path):
    from lqmf.tools.store.embeddings import Embedder
    from lqmf.tools.store.minilm import MiniLM

    folder = tmp_path / "model"
    shutil.copytree(Embedder.model_path(), folder)
    pooling = folder / "1_Pooling" / "config.json"
    cfg = json.loads(pooling.read_text())
    pooling.write_text(json.dumps(dict(cfg, pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)))
    with pytest.raises(LqmfError) as e:
        MiniLM(folder, 128)
    assert "not a mean-pooled BERT sentence model" in str(e.value) and e.value.fix


def test_embedding_never_imports_sentence_transformers_or_transformers():
    code = ("import sys; from lqmf.tools.store.embeddings import embedder; v = embedder().embed(['hi'])[0]; "
            "print(len(v), [m for m in ('sentence_transformers', 'transformers', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(None, 1) == ["384", "[]\n"], out.stdout
