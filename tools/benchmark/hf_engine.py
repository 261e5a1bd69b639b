"""A transformers model behind the llama.cpp engine's interface, so that the
benchmark's scoring (``scorer.batches``: the same windows, the same scored
positions, the same F16 baseline tokens) and its speed loop
(``speed.measure_engine``: pp in one batch, tg one token at a time from an
empty cache) run unchanged on a bitsandbytes (or any HF folder) artifact.

Loaded as a user loads it: ``AutoModelForCausalLM.from_pretrained`` on the
CPU, with bitsandbytes' own defaults (its AVX512-BF16 kernels where present).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


class HfEngine:
    """The subset of ``tools.llamacpp.runtime.Engine`` the benchmark uses."""

    def __init__(self, model: Path, threads: int, n_batch: int = 512):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from lqmf.tools.errors import from_backend

        hf_logging.disable_progress_bar()
        self.threads = max(1, threads)
        torch.set_num_threads(self.threads)
        try:
            self.model: Any = AutoModelForCausalLM.from_pretrained(model, device_map="cpu")
            self.tok = AutoTokenizer.from_pretrained(model)
        except (ValueError, KeyError, RuntimeError, OSError, ImportError) as e:
            raise from_backend(e, "transformers could not load the model") from None
        self.model.eval()
        self.n_vocab = int(self.model.get_output_embeddings().weight.shape[0]
                           if hasattr(self.model.get_output_embeddings(), "weight") else self.model.config.vocab_size)
        self.add_bos = bool(getattr(self.tok, "add_bos_token", False))
        self.bos = self.tok.bos_token_id
        self.n_batch = n_batch
        self._cache: Any = None
        self._logits: Any = None

    def tokenize(self, text: str) -> list[int]:
        ids = self.tok(text, add_special_tokens=False).input_ids
        return ([self.bos] if self.add_bos and self.bos is not None else []) + list(ids)

    def new_context(self, **_: Any) -> None:
        self.clear()

    def clear(self) -> None:
        self._cache = None

    def synchronize(self) -> None:
        pass

    def decode(self, toks: list[int], pos, seq, want) -> int:
        """Decode ``toks``; one sequence continues the cache, several are scored each from empty."""
        import numpy as np
        import torch

        toks, seq, want = list(toks), list(seq), list(want)
        rows = []
        with torch.inference_mode():
            for s in dict.fromkeys(seq):
                idx = [i for i, q in enumerate(seq) if q == s]
                ids = torch.tensor([[toks[i] for i in idx]])
                single = len(set(seq)) == 1
                out = self.model(ids, past_key_values=self._cache if single else None, use_cache=single)
                if single:
                    self._cache = out.past_key_values
                keep = [j for j, i in enumerate(idx) if want[i]]
                if keep:
                    rows.append(out.logits[0, keep].float().numpy())
        self._logits = np.concatenate(rows) if rows else np.zeros((0, self.n_vocab), dtype=np.float32)
        return len(self._logits)

    def decode_one(self, tok: int, pos: int) -> None:
        import torch

        with torch.inference_mode():
            out = self.model(torch.tensor([[tok]]), past_key_values=self._cache, use_cache=True)
        self._cache = out.past_key_values
        self._logits = out.logits[0, -1:].float().numpy()

    def logits(self, n: int):
        return self._logits[:n]

    def close(self) -> None:
        self.model = None
        self._cache = None


def measure(model: Path, threads: int) -> tuple[Any, HfEngine]:
    """``speed.measure`` for a transformers artifact: load time, pp/tg tok/s, peak RSS."""
    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.benchmark.speed import N_GEN, N_PROMPT, REPS, SpeedResult, measure_engine, peak_rss_mb

    t0 = time.perf_counter()
    eng = HfEngine(model, threads)
    load_s = time.perf_counter() - t0
    prompt = eng.tokenize(evaldata.load().text)[:N_PROMPT]
    pp, pp_sd, tg, tg_sd = measure_engine(eng, prompt, N_GEN, REPS)
    return SpeedResult(threads, load_s, len(prompt), pp, N_GEN, tg, peak_rss_mb(), REPS, pp_sd, tg_sd), eng
