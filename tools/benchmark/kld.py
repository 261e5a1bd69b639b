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

Cost: a baseline row is read four times, each a vectorised pass (group
maxima, exp, the head threshold, group sums of the tail), plus work on a few
hundred head candidates and ``M x CHUNK`` steps; a scored row of a later run
three times (argmax, exp, sum; ``scorer.row_stats``) plus ``K + M`` gathers.
"""
from __future__ import annotations

HEAD_K = 256
TAIL_M = 128
CHUNK = 64  # the vocabulary in groups of 64: maxima bound the head, sums make a two-level CDF for the tail


def bytes_per_token(k: int = HEAD_K, m: int = TAIL_M) -> int:
    return (k + m) * (4 + 4) + 8


def _grouped(x, reduce):
    """``reduce`` over the CHUNK-entry groups of each row of ``x`` (r, V): (r, groups).
    Group g < G = V // CHUNK holds tokens g, g + G, ..., g + (CHUNK - 1) G (a strided
    layout, so the reduction runs over contiguous rows of G entries, vectorised);
    the last V % CHUNK tokens, if any, form one more group."""
    import numpy as np

    r, v = x.shape
    g = v // CHUNK
    if g == 0:
        return reduce(x, axis=1)[:, None]
    out = reduce(x[:, :g * CHUNK].reshape(r, CHUNK, g), axis=1)
    if g * CHUNK < v:
        out = np.concatenate([out, reduce(x[:, g * CHUNK:], axis=1)[:, None]], axis=1)
    return out


def _group_members(gi, v: int):
    """Token ids (..., CHUNK) of groups ``gi`` (see ``_grouped``); ids past the
    vocabulary (in the short last group) are returned as ``v``."""
    import numpy as np

    g = v // CHUNK
    j = np.arange(CHUNK)
    if g * CHUNK == v:
        return gi[..., None] + g * j
    ids = np.where(gi[..., None] < g, gi[..., None] + g * j, g * CHUNK + j)
    return np.where(ids < v, ids, v)


def top_k(x, k: int, gmax=None):
    """Indices (r, k) of the ``k`` largest entries of each row, largest first
    (ties: lower index first). At least ``k`` entries are >= the k-th largest
    group maximum, so only those candidates (a few hundred per row, typically)
    are sorted instead of partitioning the whole vocabulary."""
    import numpy as np

    r, v = x.shape
    gmax = _grouped(x, np.max) if gmax is None else gmax
    if k >= gmax.shape[1]:  # small vocabulary: no useful bound
        top = np.argsort(-x, axis=1, kind="stable")[:, :k]
        return top
    thr = np.partition(gmax, gmax.shape[1] - k, axis=1)[:, gmax.shape[1] - k]
    ri, ci = np.divmod(np.flatnonzero(x >= thr[:, None]), v)  # row-major: by row, columns ascending
    cnt = np.bincount(ri, minlength=r)
    width = int(cnt.max())
    pos = np.arange(len(ri)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cand = np.zeros((r, width), dtype=np.int64)
    vals = np.full((r, width), -np.inf, dtype=x.dtype)
    cand[ri, pos] = ci
    vals[ri, pos] = x[ri, ci]
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cand, order, axis=1)


def baseline_rows(x, k: int, m: int, offsets, buf=None):
    """The baseline summary of logits rows ``x`` (r, V): log-sum-exp (r,),
    head indices and log-probs (r, k), tail sample indices and log-probs (r, m),
    tail mass (r,). ``offsets`` (r, 1) in [0, 1): the systematic sampler's one
    uniform per row. ``buf``: scratch of at least (r, V) float32."""
    import numpy as np

    r, v = x.shape
    rows = np.arange(r)[:, None]
    gmax = _grouped(x, np.max)
    mx = gmax.max(axis=1)
    e = buf[:r] if buf is not None else np.empty_like(x)
    np.subtract(x, mx[:, None], out=e)
    np.exp(e, out=e)
    head = top_k(x, k, gmax)
    e_head = e[rows, head].astype(np.float64)
    e[rows, head] = 0.0
    csum = _grouped(e, np.sum)  # float32 sums of CHUNK entries, accumulated below in float64
    ccum = np.cumsum(csum, axis=1, dtype=np.float64)
    tail_mass = ccum[:, -1]
    total = tail_mass + e_head.sum(axis=1)
    lse = mx.astype(np.float64) + np.log(total)
    lp_head = x[rows, head].astype(np.float64) - lse[:, None]
    rest = tail_mass / total
    tail = tail_samples(e, ccum, m, offsets) if m else np.zeros((r, 0), dtype=np.int64)
    lp_tail = x[rows, tail].astype(np.float64) - lse[:, None]
    return lse, head, lp_head, tail, lp_tail, rest


def tail_samples(p, ccum, m: int, offsets):
    """``m`` token ids per row drawn from the weights ``p`` (r, V) (the softmax with
    the head zeroed), by systematic sampling: one uniform offset per row, ``m``
    evenly spaced points. ``ccum``: the cumulative group sums of ``p`` (r, groups).
    The CDF is two-level, over the groups and then inside the chosen group, so a
    row costs ``m * CHUNK`` steps beyond the group sums."""
    import numpy as np

    r, v = p.shape
    n_chunks = ccum.shape[1]
    rows = np.arange(r)[:, None]
    tot = ccum[:, -1:]
    u = (np.arange(m)[None, :] + offsets) / m  # (r, m) in [0, 1)
    safe = np.where(tot > 0, tot, 1.0)
    # one searchsorted over all rows: row i's normalised CDF shifted by i stays sorted
    flat = (ccum / safe + rows).ravel()
    ci = np.searchsorted(flat, (u + rows).ravel(), side="right").reshape(r, m) - rows * n_chunks
    ci = np.clip(ci, 0, n_chunks - 1)
    before = np.where(ci > 0, ccum[rows, np.maximum(ci - 1, 0)], 0.0)
    idx = _group_members(ci, v)  # (r, m, CHUNK)
    if v % CHUNK:
        w = np.where(idx < v, p[rows[..., None], np.minimum(idx, v - 1)], 0.0)
    else:
        w = p[rows[..., None], idx]
    within = np.cumsum(w, axis=2, dtype=np.float64)
    j = np.minimum((within <= (u * tot - before)[..., None]).sum(axis=2), CHUNK - 1)
    tok = np.take_along_axis(idx, j[..., None], axis=2)[..., 0]
    return np.minimum(tok, v - 1)


def kld_rows(x, lse, head, lp_head, tail, lp_tail, rest):
    """Per-token KLD of the model with logits ``x`` against the stored baseline rows
    (any integer index type, any float log-prob type)."""
    import numpy as np

    rows = np.arange(len(x))[:, None]
    lp_head = np.asarray(lp_head, dtype=np.float64)
    lq_head = x[rows, head].astype(np.float64) - lse[:, None]
    kl = (np.exp(lp_head) * (lp_head - lq_head)).sum(axis=1)
    if tail.shape[1]:
        lq_tail = x[rows, tail].astype(np.float64) - lse[:, None]
        kl += rest * (np.asarray(lp_tail, dtype=np.float64) - lq_tail).mean(axis=1)
    return kl
