"""Run a GGUF over fixed text windows with llama-cpp-python and hand back logits.

Windows follow llama.cpp's ``llama-perplexity``: the text is tokenized once
(with BOS when the vocab adds one), cut into consecutive windows of ``ctx``
tokens, the first token of each window replaced by BOS when the vocab adds
one, and only the second half of each window is scored: logits at position
j predict token j+1 for j in [ctx/2, ctx-2].
"""
from __future__ import annotations

from pathlib import Path

from tools.config import threads as default_threads
from tools.errors import InvalidInput, from_backend
from tools.llamacpp import load


class Scorer:
    def __init__(self, model_path: Path, ctx: int = 512, n_threads: int | None = None):
        llama_cpp = load()
        self._llama_cpp = llama_cpp
        self.ctx = ctx
        try:
            self.llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=ctx, n_batch=ctx, n_ubatch=ctx,
                                       logits_all=True, n_threads=n_threads or default_threads(),
                                       n_threads_batch=n_threads or default_threads(), verbose=False)
        except (ValueError, RuntimeError) as e:
            raise from_backend(f"failed to load model {model_path}: {e}", "llama.cpp") from None
        vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self.bos = self.llm.token_bos()
        self.n_vocab = self.llm.n_vocab()

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    def window_logits(self, window: list[int]):
        """Logits (ctx, n_vocab) float32 for one window, BOS-prefixed as llama.cpp does."""
        import numpy as np

        tokens = list(window)
        if self.add_bos:
            tokens[0] = self.bos
        self.llm.reset()
        self.llm.eval(tokens)
        return np.asarray(self.llm.scores[: len(tokens)], dtype=np.float32)

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        if llm is not None:
            llm.close()

    def __enter__(self) -> "Scorer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def plan_windows(n_tokens: int, ctx: int, chunks: int | None) -> int:
    """How many windows to score (llama-perplexity: n_tokens // ctx, capped)."""
    if ctx < 16 or ctx % 2:
        raise InvalidInput(f"context {ctx} is too small or odd", "use an even context of at least 16, e.g. 512")
    n = n_tokens // ctx
    if n < 1:
        raise InvalidInput(f"the evaluation text has {n_tokens} tokens, fewer than one window of {ctx}",
                           "use a smaller --ctx or a longer text")
    return min(n, chunks) if chunks else n


def log_softmax(logits):
    import numpy as np

    m = logits.max(axis=-1, keepdims=True)
    z = logits - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

