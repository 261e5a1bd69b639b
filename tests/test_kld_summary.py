"""The bounded baseline summary and the scored-row statistics, on synthetic
logits (pure numpy: the engine around them is tested in test_engine_faithful)."""
from __future__ import annotations

import numpy as np
import pytest

from lqmf.tools.benchmark.kld import baseline_rows, kld_rows, top_k
from lqmf.tools.benchmark.scorer import ROW_BLOCK, RowPool, row_stats


def logits(rows: int, vocab: int, seed: int = 0, scale: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, vocab)) * scale
    x[:, rng.integers(0, vocab, 5)] += 12.0  # a few likely tokens, as a language model has
    return x.astype(np.float32)


def exact_lse(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


@pytest.mark.parametrize("vocab", [10, 63, 1000, 49152])
def test_top_k_is_a_full_sort(vocab):
    x = logits(8, vocab)
    x[0, :3] = x[0].max()  # ties: lower index first
    k = min(256, vocab)
    assert (top_k(x, k) == np.argsort(-x, axis=1, kind="stable")[:, :k]).all()


@pytest.mark.parametrize("vocab", [1000, 49152])
def test_baseline_rows_mass_and_log_sum_exp(vocab):
    x = logits(16, vocab)
    lse, head, lp_head, tail, lp_tail, rest = baseline_rows(x, 64, 32, np.full((16, 1), 0.5))
    assert np.abs(lse - exact_lse(x)).max() < 1e-6
    assert np.abs(rest - (1 - np.exp(lp_head).sum(axis=1))).max() < 1e-6
    assert tail.max() < vocab and not any(np.isin(tail[i], head[i]).any() for i in range(16))
    assert np.allclose(lp_tail, x[np.arange(16)[:, None], tail] - lse[:, None])


def test_tail_samples_follow_the_tail_softmax():
    row = logits(1, 1000)
    n = 4000
    _, head, _, tail, _, _ = baseline_rows(np.repeat(row, n, axis=0), 20, 64, np.random.default_rng(1).random((n, 1)))
    p = np.exp(row[0].astype(np.float64))
    p[head[0]] = 0
    p /= p.sum()
    freq = np.bincount(tail.ravel(), minlength=1000) / tail.size
    assert np.abs(freq - p).max() < 5 * np.sqrt(p.max() / tail.size)


def test_kld_estimate_against_the_full_vocabulary():
    x = logits(256, 4096, seed=2)
    y = x + np.random.default_rng(3).standard_normal(x.shape).astype(np.float32) * 0.3
    lp, lq = x - exact_lse(x)[:, None], y - exact_lse(y)[:, None]
    exact = (np.exp(lp) * (lp - lq)).sum(axis=1)
    _, head, lp_head, tail, lp_tail, rest = baseline_rows(x, 256, 128, np.random.default_rng(4).random((256, 1)))
    lse_y, _, _ = row_stats(y, np.zeros(256, dtype=np.int64))
    est = kld_rows(y, lse_y, head.astype(np.int32), lp_head.astype(np.float32), tail.astype(np.int32),
                   lp_tail.astype(np.float32), rest)
    assert abs(est.mean() / exact.mean() - 1) < 0.02


def test_row_stats_with_and_without_the_shift():
    x = logits(4, 5000)
    t = np.array([1, 2, 3, 4])
    lse, tgt, am = row_stats(x, t)  # maxima in the safe range: exp without a shift
    assert np.abs(lse - exact_lse(x)).max() < 1e-6 and (am == x.argmax(axis=1)).all()
    assert (tgt == x[np.arange(4), t]).all()
    big = x + 200.0  # exp(x) would overflow: the shift is taken
    lse_big, _, _ = row_stats(big, t)
    assert np.isfinite(lse_big).all() and np.abs(lse_big - exact_lse(big)).max() < 1e-4


def test_row_pool_threads_give_the_same_rows():
    x = logits(5 * ROW_BLOCK + 3, 3000)
    t = np.zeros(len(x), dtype=np.int64)
    runs = []
    for threads in (1, 2):
        with RowPool(threads, x.shape[1]) as pool:
            runs.append(pool.run(len(x), lambda s, e, buf: (s, row_stats(x[s:e], t[s:e], buf)[0])))
    assert [s for s, _ in runs[0]] == [s for s, _ in runs[1]] == list(range(0, len(x), ROW_BLOCK))
    assert all((a == b).all() for (_, a), (_, b) in zip(*runs))
