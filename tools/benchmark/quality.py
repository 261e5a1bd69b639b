"""Perplexity, KL divergence and top-1 agreement against the F16 baseline.

The baseline (F16) pass keeps, per scored token, a bounded summary of its
distribution (``tools.benchmark.kld``: the most likely tokens exactly, a
systematic sample of the rest, and the rest's mass), whatever the vocabulary
size. Every artifact of the same model is then scored on the same tokens.
The estimate's error against the full-vocabulary KLD is measured by
``bench/kld_topk_error.py`` and against llama.cpp by
``bench/quality_vs_llamacpp.py``.

All evaluation runs in an engine child process (``tools.benchmark.engine``).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from pathlib import Path

import lqmf.knowledge.evaldata as evaldata
from lqmf.tools.config import cache_dir
from lqmf.tools.fsutil import atomic_output, ensure_free_space, exclusive
from lqmf.tools.progress import Progress, noop

if TYPE_CHECKING:
    from lqmf.tools.proc import Prestarted

ENGINE = "lqmf.tools.benchmark.engine"  # the child module every evaluation runs in

DEFAULT_CTX = 512
DEFAULT_CHUNKS = 40  # the one default number of windows: 40 x 512 = 20,480 tokens of the text
BASELINE_FORMAT = "ht1"  # head + tail samples; bump when the cached layout changes


def bytes_per_scored_token() -> int:
    from lqmf.tools.benchmark.kld import bytes_per_token

    return bytes_per_token()


@dataclass
class QualityResult:
    ppl: float
    n_windows: int
    ctx: int
    n_scored: int
    eval_text: str
    base_ppl: float | None = None
    kld_mean: float | None = None
    kld_p99: float | None = None
    top1_pct: float | None = None

    @property
    def ppl_delta_pct(self) -> float | None:
        if self.base_ppl is None:
            return None
        return (self.ppl / self.base_ppl - 1.0) * 100.0

    def to_dict(self) -> dict:
        return asdict(self) | {"ppl_delta_pct": self.ppl_delta_pct}


@dataclass
class Baseline:
    folder: Path
    n_windows: int
    ctx: int
    ppl: float
    size_bytes: int


def _folder(f16_key: str, ev, ctx: int, chunks: int | None) -> Path:
    return cache_dir() / "baseline" / f"{f16_key}-{ev.sha256[:12]}-c{ctx}-n{chunks or 'all'}-{BASELINE_FORMAT}"


def baseline(f16: Path, f16_key: str, *, ctx: int = DEFAULT_CTX, chunks: int | None = DEFAULT_CHUNKS,
             threads: int | None = None, text: str = evaldata.DEFAULT, progress: Progress = noop,
             prestarted: "Prestarted | None" = None) -> Baseline:
    """The cached baseline of an F16 GGUF; computed on first use."""
    from lqmf.tools.config import threads as default_threads
    from lqmf.tools.proc import run_child

    ev = evaldata.load(text)
    folder = _folder(f16_key, ev, ctx, chunks)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        with exclusive(folder):
            if not meta_path.is_file():
                from lqmf.tools.benchmark.scorer import scored
                from lqmf.tools.limits import Knob, ranges

                rows = int(chunks or ranges()[Knob.CHUNKS].hi) * scored(ctx)[1]
                ensure_free_space(folder.parent, rows * bytes_per_scored_token(), "the baseline cache")
                with atomic_output(folder) as tmp:
                    tmp.mkdir(parents=True)
                    from lqmf.tools.benchmark.kld import HEAD_K, TAIL_M

                    run_child(ENGINE,
                              {"op": "baseline", "model": str(f16), "ctx": ctx, "chunks": chunks, "text": text,
                               "threads": threads or default_threads(), "head_k": HEAD_K, "tail_m": TAIL_M,
                               "out": str(tmp)},
                              what="the F16 baseline pass", progress=progress, prestarted=prestarted)
    meta = json.loads(meta_path.read_text())
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return Baseline(folder, meta["n_windows"], meta["ctx"], meta["ppl"], size)


def measure(model: Path, *, base: Baseline | None = None, ctx: int = DEFAULT_CTX,
            chunks: int | None = DEFAULT_CHUNKS, threads: int | None = None, speed: bool = False,
            text: str = evaldata.DEFAULT, progress: Progress = noop,
            engine: str | None = None, prestarted: "Prestarted | None" = None) -> tuple[QualityResult, dict | None]:
    """Quality of ``model`` (against ``base`` when given), and its speed when
    ``speed``: one fresh engine process does both, speed first. ``engine``:
    "transformers" runs an HF folder (tools/benchmark/hf_engine.py), else llama.cpp."""
    from lqmf.tools.config import threads as default_threads
    from lqmf.tools.proc import run_child

    out = run_child(ENGINE,
                    {"op": "measure", "model": str(model), "ctx": base.ctx if base else ctx, "chunks": chunks,
                     "text": text, "threads": threads or default_threads(), "speed": speed,
                     "baseline": str(base.folder) if base else None, "engine": engine},
                    what="the benchmark", progress=progress, prestarted=prestarted)
    q = QualityResult(**out["quality"])
    if base:
        q.base_ppl = base.ppl
    return q, out.get("speed")


def clear_baselines() -> None:
    shutil.rmtree(cache_dir() / "baseline", ignore_errors=True)
