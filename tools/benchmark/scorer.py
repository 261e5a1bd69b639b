"""Score fixed text windows as llama.cpp's ``llama-perplexity`` does.

The text is tokenized once (with BOS when the vocab adds one) and cut into
consecutive windows of ``ctx`` tokens; the first token of each window is
replaced by BOS when the vocab adds one; only the second half of each window
is scored: logits at position j predict token j+1 for j in [ctx/2, ctx-2].
Logits are requested for those positions only, and ``n_seq`` windows share
one batch (llama-perplexity: ``n_batch / n_ctx`` of them).

The per-row statistics are plain numpy over small row blocks, on the
benchmark's threads (``RowPool``), so memory stays bounded for any vocabulary.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lqmf.tools.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

# Bytes of output logits one batch may hold (n_seq windows x ctx/2 rows x vocab x 4).
LOGITS_BUDGET = 256 << 20
ROW_BLOCK = 16  # rows per numpy step: a block of 16 x vocab float32 stays in cache across its reads


def scored(ctx: int) -> tuple[int, int]:
    """(first scored position, rows scored per window)."""
    first = ctx // 2
    return first, ctx - 1 - first


def check_ctx(ctx: int) -> None:
    """A scoring context is inside its declared range (tools/limits.py) and even
    (its second half is scored)."""
    from lqmf.tools.limits import Knob, check

    check(Knob.CTX, ctx, "--ctx")
    if ctx % 2:
        raise InvalidInput(f"--ctx {ctx} is odd", "use an even context, e.g. 512")


def plan_windows(n_tokens: int, ctx: int, chunks: int | None) -> int:
    """How many windows to score (llama-perplexity: n_tokens // ctx, capped)."""
    check_ctx(ctx)
    n = n_tokens // ctx
    if n < 1:
        raise InvalidInput(f"the evaluation text has {n_tokens} tokens, fewer than one window of {ctx}",
                           "use a smaller --ctx or a longer text")
    return min(n, chunks) if chunks else n


def seqs_per_batch(ctx: int, n_vocab: int, n_batch: int = 2048) -> int:
    per_window = scored(ctx)[1] * n_vocab * 4
    return max(1, min(n_batch // ctx, LOGITS_BUDGET // max(1, per_window)))


@dataclass
class Batch:
    row0: int        # first row of this batch in the per-token arrays
    logits: "np.ndarray"   # (rows, n_vocab) float32 view, valid until the next decode
    targets: "np.ndarray"  # (rows,) int64 next tokens


def batches(eng, tokens: list[int], ctx: int, n_windows: int, n_seq: int, progress=None) -> Iterator[Batch]:
    import numpy as np

    first, per = scored(ctx)
    want_one = [first <= j <= ctx - 2 for j in range(ctx)]
    for b in range(0, n_windows, n_seq):
        k = min(n_seq, n_windows - b)
        toks: list[int] = []
        targets = []
        for s in range(k):
            w = list(tokens[(b + s) * ctx:(b + s + 1) * ctx])
            targets.append(w[first + 1:ctx])
            if eng.add_bos:
                w[0] = eng.bos
            toks += w
        eng.clear()
        n_out = eng.decode(toks, list(range(ctx)) * k, [s for s in range(k) for _ in range(ctx)], want_one * k)
        if progress:
            progress(min(1.0, (b + k) / n_windows))
        yield Batch(b * per, eng.logits(n_out), np.asarray(targets, dtype=np.int64).reshape(-1))


def row_stats(x, targets, buf=None, argmax: bool = True):
    """For logits rows ``x`` (r, V): (log-sum-exp, logit of the target, argmax or
    None). Three reads of a row: argmax (or max), exp, sum. When every row's
    maximum is in SAFE_EXP, exp(x) is taken without subtracting it (no overflow,
    and what underflows weighs < e^-57 of the row's mass). Sums are numpy's
    pairwise float32 sums (relative error ~1e-7 for any vocabulary), finished
    per row in float64. ``buf``: scratch of at least (r, V) float32."""
    import numpy as np

    r = len(x)
    rows = np.arange(r)
    am = x.argmax(axis=1) if argmax else None
    mx = x[rows, am] if argmax else x.max(axis=1)
    e = buf[:r] if buf is not None else np.empty_like(x)
    lo, hi = SAFE_EXP
    shift = not (lo < float(mx.min()) and float(mx.max()) < hi)
    if shift:
        np.subtract(x, mx[:, None], out=e)
        np.exp(e, out=e)
    else:
        np.exp(x, out=e)
    lse = np.log(e.sum(axis=1).astype(np.float64))
    if shift:
        lse += mx
    return lse, x[rows, targets].astype(np.float64), am


# Row maxima for which exp(logits) needs no shift: e^60 x 2^20 tokens < float32's max.
SAFE_EXP = (-30.0, 60.0)


def blocks(n_rows: int, size: int = ROW_BLOCK) -> list[tuple[int, int]]:
    return [(start, min(n_rows, start + size)) for start in range(0, n_rows, size)]


class RowPool:
    """The numpy work on a batch's rows, between decodes, on the benchmark's
    threads (numpy releases the GIL; llama-perplexity's own KL step uses a
    worker per core the same way). ``run(n_rows, fn)`` calls ``fn(start, stop,
    buf)`` on ROW_BLOCK-row blocks, ``buf`` a per-thread (ROW_BLOCK, n_vocab)
    float32 scratch, and returns the results in row order."""

    def __init__(self, threads: int, n_vocab: int):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.n_vocab = n_vocab
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def _buf(self):
        import numpy as np

        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = np.empty((ROW_BLOCK, self.n_vocab), dtype=np.float32)
        return buf

    def run(self, n_rows: int, fn) -> list:
        def one(span):
            return fn(span[0], span[1], self._buf())

        spans = blocks(n_rows)
        if self._pool is None:
            return [one(s) for s in spans]
        return list(self._pool.map(one, spans))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self) -> "RowPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
