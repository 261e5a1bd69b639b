"""The engine child process: ``python -m tools.benchmark.engine`` with a JSON
request on stdin (see ``tools.proc``). Operations:

- ``speed``: load time, pp/tg tokens/s, peak RSS of this fresh process;
- ``measure``: speed (optional), then perplexity / KLD / top-1 on the windows;
- ``baseline``: the F16 pass whose head and tail samples later runs are scored against;
- ``selfcheck``: load a model and evaluate a few tokens.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lqmf.tools.proc import child_main, report


TRANSFORMERS = "transformers"  # BenchEngine.TRANSFORMERS: tools/benchmark/hf_engine.py


def _open_scoring(model: str, ctx: int, threads: int, eng=None, engine: str | None = None):
    """An engine (``eng``'s loaded model, or ``model`` loaded now) with a scoring
    context whose batches hold as many windows as the logits budget allows."""
    from lqmf.tools.benchmark.scorer import seqs_per_batch

    if eng is None and engine == TRANSFORMERS:
        from lqmf.tools.benchmark.hf_engine import HfEngine

        eng = HfEngine(Path(model), threads)
    if eng is None:
        from lqmf.tools.llamacpp.runtime import Engine

        eng = Engine(Path(model), threads=threads)
    n_seq = seqs_per_batch(ctx, eng.n_vocab)
    eng.new_context(n_ctx=n_seq * ctx, n_batch=n_seq * ctx, n_seq=n_seq)
    return eng, n_seq


def op_speed(req: dict) -> dict:
    from lqmf.tools.benchmark.speed import measure

    res, eng = measure(Path(req["model"]), int(req["threads"]))
    eng.close()
    return {"speed": asdict(res)}


BASE_ARRAYS = ("head_idx", "head_logp", "tail_idx", "tail_logp")


def op_baseline(req: dict) -> dict:
    import numpy as np

    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.benchmark.kld import baseline_rows
    from lqmf.tools.benchmark.scorer import RowPool, batches, plan_windows, scored

    ctx, k, m, out = int(req["ctx"]), int(req["head_k"]), int(req["tail_m"]), Path(req["out"])
    ev = evaldata.load(req["text"])
    eng, n_seq = _open_scoring(req["model"], ctx, int(req["threads"]))
    tokens = eng.tokenize(ev.text)
    n = plan_windows(len(tokens), ctx, req.get("chunks"))
    rows = n * scored(ctx)[1]
    k = min(k, eng.n_vocab)
    arrays = {name: np.lib.format.open_memmap(out / f"{name}.npy", mode="w+",
                                              dtype=np.int32 if name.endswith("idx") else np.float32,
                                              shape=(rows, k if name.startswith("head") else m))
              for name in BASE_ARRAYS}
    rest = np.zeros(rows, dtype=np.float64)
    rng = np.random.default_rng(0)
    nll = 0.0
    with RowPool(eng.threads, eng.n_vocab) as pool:
        for b in batches(eng, tokens, ctx, n, n_seq, lambda f: report("baseline", f)):
            offsets = rng.random((len(b.targets), 1))  # drawn here: the same whatever the threads

            def block(s, e, buf, b=b, offsets=offsets):
                x = b.logits[s:e]
                lse, *parts, r_mass = baseline_rows(x, k, m, offsets[s:e], buf)
                r0, r1 = b.row0 + s, b.row0 + e
                for name, value in zip(BASE_ARRAYS, parts):
                    arrays[name][r0:r1] = value
                rest[r0:r1] = r_mass
                return float((lse - x[np.arange(e - s), b.targets[s:e]]).sum())

            nll += sum(pool.run(len(b.targets), block))
    n_vocab = eng.n_vocab
    eng.close()
    for arr in arrays.values():
        arr.flush()
    arrays.clear()  # the memmaps are closed here
    np.save(out / "rest.npy", rest)
    np.save(out / "tokens.npy", np.asarray(tokens[: n * ctx], dtype=np.int32))
    meta = {"ppl": math.exp(nll / rows), "n_windows": n, "ctx": ctx, "head_k": k, "tail_m": m,
            "n_vocab": n_vocab, "eval_text": ev.name, "eval_sha256": ev.sha256, "f16": req["model"],
            "tail_mass_mean": float(rest.mean()), "tail_mass_max": float(rest.max())}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def op_measure(req: dict) -> dict:
    import numpy as np

    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.benchmark.kld import kld_rows
    from lqmf.tools.benchmark.hf_engine import measure as measure_hf
    from lqmf.tools.benchmark.scorer import RowPool, batches, plan_windows, row_stats, scored
    from lqmf.tools.benchmark.speed import measure as measure_gguf

    measure: Callable[[Path, int], tuple[Any, Any]] = measure_hf if req.get("engine") == TRANSFORMERS else measure_gguf
    threads, ctx = int(req["threads"]), int(req["ctx"])
    result: dict = {}
    loaded = None
    if req.get("speed"):  # load time and peak RSS are the speed stage's; scoring reuses its model
        report("speed", None)
        sp, loaded = measure(Path(req["model"]), threads)
        result["speed"] = asdict(sp)
        report("speed", 1.0)
    base = req.get("baseline")
    ev = evaldata.load(req["text"])
    eng, n_seq = _open_scoring(req["model"], ctx, threads, loaded, req.get("engine"))
    if base:
        folder = Path(base)
        meta = json.loads((folder / "meta.json").read_text())
        tokens = np.load(folder / "tokens.npy").tolist()
        n, ctx = meta["n_windows"], meta["ctx"]
        stored = {name: np.load(folder / f"{name}.npy") for name in BASE_ARRAYS}
        b_rest = np.load(folder / "rest.npy")
        if meta.get("n_vocab") not in (None, eng.n_vocab):
            from lqmf.tools.errors import InvalidInput

            raise InvalidInput(f"the model has {eng.n_vocab} tokens in its vocabulary but its baseline has "
                               f"{meta['n_vocab']}", "benchmark it against the F16 of the same model")
    else:
        tokens = eng.tokenize(ev.text)
        n = plan_windows(len(tokens), ctx, req.get("chunks"))
    rows = n * scored(ctx)[1]
    klds = np.zeros(rows, dtype=np.float64) if base else None
    nll, same = 0.0, 0
    with RowPool(eng.threads, eng.n_vocab) as pool:
        for b in batches(eng, tokens, ctx, n, n_seq, lambda f: report("score", f)):
            def block(s, e, buf, b=b):
                x = b.logits[s:e]
                lse, tgt, am = row_stats(x, b.targets[s:e], buf, argmax=klds is not None)
                if klds is None:
                    return float((lse - tgt).sum()), 0
                r0, r1 = b.row0 + s, b.row0 + e
                head, lp_head, tail, lp_tail = (stored[name][r0:r1] for name in BASE_ARRAYS)
                klds[r0:r1] = kld_rows(x, lse, head, lp_head, tail, lp_tail, b_rest[r0:r1])
                return float((lse - tgt).sum()), int((am == head[:, 0]).sum())

            for d_nll, d_same in pool.run(len(b.targets), block):
                nll += d_nll
                same += d_same
    eng.close()
    q = {"ppl": math.exp(nll / rows), "n_windows": n, "ctx": ctx, "n_scored": rows, "eval_text": ev.name}
    if klds is not None:
        q.update(kld_mean=float(klds.mean()), kld_p99=float(np.percentile(klds, 99)),
                 top1_pct=100.0 * same / rows)
    result["quality"] = q
    return result


def op_selfcheck(req: dict) -> dict:
    import numpy as np

    from lqmf.tools.llamacpp.runtime import Engine

    with Engine(Path(req["model"]), n_ctx=64, n_batch=64, threads=int(req.get("threads", 1))) as eng:
        toks = eng.tokenize("The quick brown fox jumps over the lazy dog.")[:16]
        n = eng.decode(toks, range(len(toks)), [0] * len(toks), [1] * len(toks))
        ok = bool(np.isfinite(eng.logits(n)).all())
        eng.decode_one(toks[-1], len(toks))
        ok = ok and bool(np.isfinite(eng.logits(1)).all())
    return {"ok": ok, "tokens": len(toks) + 1}


OPS = {"speed": op_speed, "measure": op_measure, "baseline": op_baseline, "selfcheck": op_selfcheck}


def preload() -> None:
    """The imports every op needs, done before the request arrives (see Prestarted)."""
    import numpy  # noqa: F401

    import lqmf.knowledge.evaldata  # noqa: F401
    import lqmf.tools.benchmark.kld  # noqa: F401
    import lqmf.tools.benchmark.scorer  # noqa: F401
    import lqmf.tools.benchmark.speed  # noqa: F401
    import lqmf.tools.llamacpp.runtime  # noqa: F401
    from lqmf.tools.llamacpp import load

    load()


def handle(req: dict) -> dict:
    from lqmf.tools.llamacpp import load

    load()  # quiet llama.cpp logging
    return OPS[req["op"]](req)


if __name__ == "__main__":
    sys.exit(child_main(handle, preload))
