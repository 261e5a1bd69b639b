"""Perplexity, KL divergence and top-1 agreement against the F16 baseline.

The baseline (F16) pass stores, per scored token, its log-probabilities over
the whole vocabulary (float16), its exact negative entropy sum(p log p), and
its argmax. Every artifact of the same model is then scored on the same
tokens: KLD(P_base || P_q) = sum p log p - sum p log q.
"""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import knowledge.evaldata as evaldata
from tools.config import cache_dir
from tools.fsutil import atomic_output, ensure_free_space, exclusive
from tools.progress import Progress, noop
from tools.benchmark.scorer import Scorer, log_softmax, plan_windows

DEFAULT_CTX = 512
DEFAULT_CHUNKS = 40  # 40 windows of 512 = 20,480 tokens of the text


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
    tokens: list[int]
    n_windows: int
    ctx: int
    ppl: float

    def arrays(self):
        import numpy as np

        return (np.load(self.folder / "logp.npy", mmap_mode="r"),
                np.load(self.folder / "negent.npy"), np.load(self.folder / "argmax.npy"))


def _scored(ctx: int) -> tuple[int, int]:
    first = ctx // 2
    return first, ctx - 1 - first


def _scored_windows(s: Scorer, tokens: list[int], ctx: int, n: int, stage: str, progress: Progress):
    """For each window: the rows it fills in per-token arrays, the logits and
    log-probs of its scored half, and that half's negative log-likelihood."""
    import numpy as np

    first, per = _scored(ctx)
    for i in range(n):
        progress(stage, i / n)
        window = tokens[i * ctx:(i + 1) * ctx]
        logits = s.window_logits(window)[first:ctx - 1]
        logp = log_softmax(logits)
        targets = np.asarray(window[first + 1:ctx])
        yield slice(i * per, (i + 1) * per), logits, logp, -float(logp[np.arange(per), targets].sum())
    progress(stage, 1.0)


def baseline(f16: Path, f16_key: str, *, ctx: int = DEFAULT_CTX, chunks: int | None = DEFAULT_CHUNKS,
             threads: int | None = None, text: str = evaldata.DEFAULT, progress: Progress = noop) -> Baseline:
    """The cached baseline of an F16 GGUF; computed on first use."""
    import numpy as np

    ev = evaldata.load(text)
    folder = cache_dir() / "baseline" / f"{f16_key}-{ev.sha256[:12]}-c{ctx}-n{chunks or 'all'}"
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        with exclusive(folder):
            if not meta_path.is_file():
                _compute_baseline(f16, folder, ctx, chunks, threads, ev, progress)
    meta = json.loads(meta_path.read_text())
    tokens = np.load(folder / "tokens.npy").tolist()
    return Baseline(folder, tokens, meta["n_windows"], meta["ctx"], meta["ppl"])


def _compute_baseline(f16, folder, ctx, chunks, threads, ev, progress) -> None:
    import numpy as np

    with Scorer(f16, ctx, threads) as s:
        tokens = s.tokenize(ev.text)
        n = plan_windows(len(tokens), ctx, chunks)
        per = _scored(ctx)[1]
        ensure_free_space(folder.parent, n * per * s.n_vocab * 2, "the baseline logits cache")
        with atomic_output(folder) as tmp:
            tmp.mkdir(parents=True)
            logp_all = np.lib.format.open_memmap(tmp / "logp.npy", mode="w+", dtype=np.float16,
                                                 shape=(n * per, s.n_vocab))
            negent = np.zeros(n * per, dtype=np.float64)
            argmax = np.zeros(n * per, dtype=np.int32)
            nll = 0.0
            for rows, logits, logp, window_nll in _scored_windows(s, tokens, ctx, n, "baseline", progress):
                nll += window_nll
                logp_all[rows] = logp
                negent[rows] = (np.exp(logp) * logp).sum(axis=1)
                argmax[rows] = logits.argmax(axis=1)
            logp_all.flush()
            del logp_all
            np.save(tmp / "negent.npy", negent)
            np.save(tmp / "argmax.npy", argmax)
            np.save(tmp / "tokens.npy", np.asarray(tokens[: n * ctx], dtype=np.int32))
            meta = {"ppl": math.exp(nll / (n * per)), "n_windows": n, "ctx": ctx,
                    "eval_text": ev.name, "eval_sha256": ev.sha256, "f16": str(f16)}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))


def score(model: Path, *, base: Baseline | None = None, ctx: int = DEFAULT_CTX,
          chunks: int | None = DEFAULT_CHUNKS, threads: int | None = None,
          text: str = evaldata.DEFAULT, progress: Progress = noop) -> QualityResult:
    """Perplexity of ``model`` (and KLD/top-1 against ``base`` when given)."""
    import numpy as np

    ev = evaldata.load(text)
    with Scorer(model, base.ctx if base else ctx, threads) as s:
        if base:
            ctx, tokens, n = base.ctx, base.tokens, base.n_windows
            logp_b, negent_b, argmax_b = base.arrays()
        else:
            tokens = s.tokenize(ev.text)
            n = plan_windows(len(tokens), ctx, chunks)
        per = _scored(ctx)[1]
        nll, klds, same = 0.0, [], 0
        for rows, logits, logq, window_nll in _scored_windows(s, tokens, ctx, n, "score", progress):
            nll += window_nll
            if base:
                p = np.exp(np.asarray(logp_b[rows], dtype=np.float32))
                klds.append(negent_b[rows] - (p * logq).sum(axis=1, dtype=np.float64))
                same += int((logits.argmax(axis=1) == argmax_b[rows]).sum())
    res = QualityResult(math.exp(nll / (n * per)), n, ctx, n * per, ev.name)
    if base:
        k = np.concatenate(klds)
        res.base_ppl, res.kld_mean = base.ppl, float(k.mean())
        res.kld_p99, res.top1_pct = float(np.percentile(k, 99)), 100.0 * same / (n * per)
    return res


def clear_baselines() -> None:
    shutil.rmtree(cache_dir() / "baseline", ignore_errors=True)
