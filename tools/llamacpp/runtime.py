"""A model and a context on llama.cpp's C API, as llama.cpp's own tools use it.

``Engine`` decodes token batches with logits requested only where they are
needed (the scored half of a perplexity window, the last token of a
generation step) and hands them back as a zero-copy numpy view. No Python
sampling sits in a timed loop, so the speed we report is the decode path's,
as ``llama-bench`` measures it.

Run engines in a child process (``tools.benchmark.engine``): a crash in C
must reach the user as a sentence, not take the CLI down with it.
"""
from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path
from typing import Any

from lqmf.tools.errors import CorruptFile, from_backend
from lqmf.tools.llamacpp import load


@lru_cache(maxsize=1)
def system_info() -> str:
    """``llama_print_system_info()`` of the installed build."""
    return load().llama_print_system_info().decode(errors="replace").strip()


def build_has_amx() -> bool:
    """Whether ggml's AMX path is compiled in (it crashes on q4_K/q6_K/q8_0 repacks:
    ggml-org/llama.cpp#20824). Our own build turns it off; a foreign build is
    made safe at load time by dropping the extra buffer types."""
    return "AMX_INT8 = 1" in system_info() or "AMX = 1" in system_info()


def model_params(**fields):
    """Default model params, with the AMX guard applied."""
    llama_cpp = load()
    p = llama_cpp.llama_model_default_params()
    if build_has_amx():
        p.use_extra_bufts = False
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def guard_llama_class() -> None:
    """Make ``llama_cpp.Llama`` (used by the LLM parser and chat) load models with
    the same AMX guard. A no-op on our own builds, which have no AMX code."""
    if not build_has_amx():
        return
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params
    if getattr(original, "_lqmf_guarded", False):
        return

    def guarded():
        p = original()
        p.use_extra_bufts = False
        return p

    guarded._lqmf_guarded = True  # type: ignore[attr-defined]  # a marker on the function object
    low.llama_model_default_params = guarded


class Engine:
    """One loaded model and (once ``new_context`` ran, or ``n_ctx`` was given) one
    context. ``n_seq`` windows may share a batch."""

    # llama.cpp's ctypes handles (None before ``new_context`` and after ``close``)
    ctx: Any
    batch: Any
    n_batch: int
    n_seq: int
    _views: dict[str, Any]  # numpy views into the batch's token, pos, n_seq_id and logits arrays

    def __init__(self, path: Path, *, threads: int, n_ctx: int | None = None, n_batch: int | None = None,
                 n_ubatch: int = 512, n_seq: int = 1):
        import numpy as np

        self._np = np
        ll = self._ll = load()
        self.model = ll.llama_model_load_from_file(str(path).encode(), model_params())
        if not self.model:
            raise CorruptFile(f"llama.cpp could not load {path}; it looks truncated, corrupt or of an "
                              "unsupported architecture", "re-create it, or run `lqmf doctor`")
        self.vocab = ll.llama_model_get_vocab(self.model)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
        self.add_bos = bool(ll.llama_vocab_get_add_bos(self.vocab))
        self.bos = int(ll.llama_vocab_bos(self.vocab))
        self.ctx = self.batch = None
        self.threads = threads
        if n_ctx is None:
            return
        try:
            self.new_context(n_ctx=n_ctx, n_batch=n_batch or n_ctx, n_ubatch=n_ubatch, n_seq=n_seq)
        except BaseException:
            self.close()
            raise

    def new_context(self, *, n_ctx: int, n_batch: int, n_ubatch: int = 512, n_seq: int = 1) -> None:
        """(Re)create the context and batch on the loaded model."""
        np, ll = self._np, self._ll
        self._free_context()
        cp = ll.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch = n_ctx, n_batch, min(n_ubatch, n_batch)
        cp.n_seq_max = n_seq
        cp.n_threads = cp.n_threads_batch = self.threads
        cp.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_AUTO  # what llama-bench and llama-perplexity use
        cp.no_perf = True
        self.ctx = ll.llama_init_from_model(self.model, cp)
        if not self.ctx:
            raise from_backend(f"failed to create a context of {n_ctx} tokens", "llama.cpp")
        self.n_batch, self.n_seq = n_batch, n_seq
        self.batch = ll.llama_batch_init(n_batch, 0, n_seq)
        self._views = {name: np.ctypeslib.as_array(getattr(self.batch, name), shape=(n_batch,))
                       for name in ("token", "pos", "n_seq_id", "logits")}

    # -- tokens ---------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return _tokenize(self._ll, self.vocab, text, add_bos and self.add_bos)

    # -- decoding -------------------------------------------------------------
    def clear(self) -> None:
        self._ll.llama_memory_clear(self._ll.llama_get_memory(self.ctx), True)

    def decode(self, tokens, pos, seqs, want_logits) -> int:
        """Decode one batch; returns how many output rows it produced.
        ``tokens``, ``pos``, ``seqs``, ``want_logits``: equal-length sequences."""
        np, n = self._np, len(tokens)
        if n > self.n_batch:
            raise ValueError(f"batch of {n} tokens exceeds n_batch {self.n_batch}")
        v = self._views
        v["token"][:n] = tokens
        v["pos"][:n] = pos
        v["n_seq_id"][:n] = 1
        flags = np.asarray(want_logits, dtype=np.int8)
        v["logits"][:n] = flags
        seq_id = self.batch.seq_id
        for i, s in enumerate(seqs):
            seq_id[i][0] = int(s)
        self.batch.n_tokens = n
        rc = self._ll.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise from_backend(f"llama_decode returned {rc}", "llama.cpp")
        return int(flags.sum())

    def decode_one(self, token: int, pos: int) -> None:
        self.decode([token], [pos], [0], [1])

    def logits(self, n_rows: int):
        """The output rows of the last decode, (n_rows, n_vocab) float32, zero-copy.
        Valid until the next decode."""
        ptr = self._ll.llama_get_logits(self.ctx)
        return self._np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                                           shape=(n_rows, self.n_vocab))

    def synchronize(self) -> None:
        self._ll.llama_synchronize(self.ctx)

    def _free_context(self) -> None:
        ll = self._ll
        if getattr(self, "batch", None) is not None:
            ll.llama_batch_free(self.batch)
            self.batch = None
        if getattr(self, "ctx", None):
            ll.llama_free(self.ctx)
            self.ctx = None

    def close(self) -> None:
        ll = self._ll
        self._free_context()
        if getattr(self, "model", None):
            ll.llama_model_free(self.model)
            self.model = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def vocab_tokenize(path: Path, text: str) -> list[int]:
    """Tokenize with a model file's own vocabulary (loaded vocab-only: no weights, no compute)."""
    ll = load()
    model = ll.llama_model_load_from_file(str(path).encode(), model_params(vocab_only=True))
    if not model:
        raise CorruptFile(f"llama.cpp could not read the vocabulary of {path}", "re-create or re-download it")
    try:
        vocab = ll.llama_model_get_vocab(model)
        return _tokenize(ll, vocab, text, bool(ll.llama_vocab_get_add_bos(vocab)))
    finally:
        ll.llama_model_free(model)


def _tokenize(ll, vocab, text: str, add_bos: bool) -> list[int]:
    """``llama_tokenize`` into a buffer, grown once when llama.cpp says it is too small."""
    data = text.encode("utf-8")
    cap = len(data) + 16
    buf = (ll.llama_token * cap)()
    n = ll.llama_tokenize(vocab, data, len(data), buf, cap, add_bos, False)
    if n < 0:
        cap = -n
        buf = (ll.llama_token * cap)()
        n = ll.llama_tokenize(vocab, data, len(data), buf, cap, add_bos, False)
    return list(buf[:max(0, n)])
