"""KL divergence against a baseline kept in bounded space, for any vocabulary.

Per scored token the baseline keeps:
- the ``K`` most likely tokens and their log-probabilities (exact head);
- ``M`` tokens drawn from the rest of the distribution (the tail, renormalised),
  by systematic sampling, with their log-probabilities;
- the tail's probability mass ``p_rest``.

Then KL(P || Q) = sum_head p (log p - log q) + p_rest * E_tail[log p - log q],
and the expectation is estimated by the mean over the M drawn tokens: an
unbiased estimate whose noise averages out over thousands of tokens, because
log p - log q varies little across a tail (quantization noise), unlike
log q alone. The head-only "partition" bound was measured 13-31 % low on the
bundled model even at K = 256 (bench/kld_topk_error.py); this form is checked
there and against llama-perplexity (bench/quality_vs_llamacpp.py).
"""
from __future__ import annotations

HEAD_K = 256
TAIL_M = 128


def bytes_per_token(k: int = HEAD_K, m: int = TAIL_M) -> int:
    return (k + m) * (4 + 4) + 8


def head_and_tail(x, lse, k: int, m: int, rng, exp_rows=None):
    """For logits rows ``x`` (r, V) and their log-sum-exp: head indices and
    log-probs (r, k), tail sample indices and log-probs (r, m), tail mass (r,).
    ``exp_rows``: exp(x - rowmax) when the caller has it already (it is reused,
    and overwritten)."""
    import numpy as np

    top = np.argpartition(x, -k, axis=1)[:, -k:]
    vals = np.take_along_axis(x, top, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    lp_head = np.take_along_axis(x, top, axis=1).astype(np.float64) - lse[:, None]
    rest = np.clip(1.0 - np.exp(lp_head).sum(axis=1), 0.0, 1.0)
    tail = tail_samples(x, top, m, rng, exp_rows) if m else np.zeros((len(x), 0), dtype=np.int64)
    lp_tail = np.take_along_axis(x, tail, axis=1).astype(np.float64) - lse[:, None]
    return top, lp_head, tail, lp_tail, rest


CHUNK = 64  # tail sampling walks a two-level CDF: chunk sums, then one chunk


def tail_samples(x, head, m: int, rng, exp_rows=None):
    """``m`` token ids per row drawn from the row's softmax with the head removed
    (systematic sampling: one uniform offset per row, ``m`` evenly spaced points).
    The CDF is two-level, over sums of ``CHUNK`` tokens and then inside the chosen
    chunk, so a row costs one pass over the vocabulary plus ``m * CHUNK`` steps."""
    import numpy as np

    r, v = x.shape
    p = exp_rows if exp_rows is not None else np.exp(x - x.max(axis=1, keepdims=True))
    np.put_along_axis(p, head, 0.0, axis=1)
    pad = (-v) % CHUNK
    if pad:
        p = np.concatenate([p, np.zeros((r, pad), dtype=p.dtype)], axis=1)
    chunks = p.reshape(r, -1, CHUNK)
    ccum = np.cumsum(chunks.sum(axis=2, dtype=np.float64), axis=1)
    n_chunks = ccum.shape[1]
    u = (np.arange(m)[None, :] + rng.random((r, 1))) / m * ccum[:, -1:]
    ci = np.empty((r, m), dtype=np.int64)
    for i in range(r):
        ci[i] = np.searchsorted(ccum[i], u[i], side="right")
    ci = np.minimum(ci, n_chunks - 1)
    before = np.where(ci > 0, np.take_along_axis(ccum, np.maximum(ci - 1, 0), axis=1), 0.0)
    within = np.cumsum(chunks[np.arange(r)[:, None], ci].astype(np.float64), axis=2)  # (r, m, CHUNK)
    j = np.minimum((within <= (u - before)[..., None]).sum(axis=2), CHUNK - 1)
    return np.minimum(ci * CHUNK + j, v - 1)


def kld_rows(x, lse, head, lp_head, tail, lp_tail, rest):
    """Per-token KLD of the model with logits ``x`` against the stored baseline rows."""
    import numpy as np

    lq_head = np.take_along_axis(x, head, axis=1).astype(np.float64) - lse[:, None]
    kl = (np.exp(lp_head) * (lp_head - lq_head)).sum(axis=1)
    if tail.shape[1]:
        lq_tail = np.take_along_axis(x, tail, axis=1).astype(np.float64) - lse[:, None]
        kl += rest * (lp_tail - lq_tail).mean(axis=1)
    return kl
