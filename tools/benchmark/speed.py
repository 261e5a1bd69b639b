"""Speed of one GGUF, measured as ``llama-bench`` measures it.

- prompt processing (pp): ``n_prompt`` tokens decoded in one batch from an
  empty cache, logits for the last token only;
- generation (tg): ``n_gen`` tokens decoded one at a time from an empty cache,
  no sampling in the timed loop;
- one warm-up run of each, then ``reps`` timed runs; tokens/s is the mean of
  the runs' rates (llama-bench's ``avg_ts``), with their standard deviation;
- load time and peak RSS of the fresh engine process that measures it.

The numbers are comparable to ``llama-bench -t T -p 512 -n 64 -r REPS`` on
the same build (``bench/speed_vs_llamabench.py`` checks that).
"""
from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lqmf.tools.llamacpp.runtime import Engine

N_PROMPT, N_GEN, REPS = 512, 64, 3


@dataclass
class SpeedResult:
    threads: int
    load_s: float
    prompt_tokens: int
    prompt_tok_s: float
    gen_tokens: int
    gen_tok_s: float
    peak_rss_mb: float
    reps: int = REPS
    prompt_tok_s_sd: float = 0.0
    gen_tok_s_sd: float = 0.0


def _rates(n: int, seconds: list[float]) -> tuple[float, float]:
    ts = [n / s for s in seconds]
    return statistics.fmean(ts), (statistics.stdev(ts) if len(ts) > 1 else 0.0)


def measure_engine(eng, prompt: list[int], n_gen: int = N_GEN, reps: int = REPS) -> tuple[float, float, float, float]:
    """(pp tok/s, pp sd, tg tok/s, tg sd) on a loaded ``Engine``."""
    n = len(prompt)

    def pp() -> float:
        eng.clear()
        t0 = time.perf_counter()
        for start in range(0, n, eng.n_batch):
            chunk = prompt[start:start + eng.n_batch]
            eng.decode(chunk, range(start, start + len(chunk)), [0] * len(chunk),
                       [0] * (len(chunk) - 1) + [1])
        eng.synchronize()
        return time.perf_counter() - t0

    def tg(count: int) -> float:
        eng.clear()
        tok = prompt[0]
        t0 = time.perf_counter()
        for i in range(count):
            eng.decode_one(tok, i)
            eng.synchronize()
            tok = prompt[(i + 1) % n]
        return time.perf_counter() - t0

    pp()  # warm-up, as llama-bench
    pp_s = [pp() for _ in range(reps)]
    tg(1)
    tg_s = [tg(n_gen) for _ in range(reps)]
    return (*_rates(n, pp_s), *_rates(n_gen, tg_s))


def measure(model: Path, threads: int, n_prompt: int = N_PROMPT, n_gen: int = N_GEN,
            reps: int = REPS, text_tokens: list[int] | None = None) -> tuple[SpeedResult, "Engine"]:
    """Load ``model`` in this (fresh) process and measure it. Returns the result
    and the open engine (the caller may go on to score with it, then close it)."""
    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.llamacpp.runtime import Engine

    t0 = time.perf_counter()
    eng = Engine(model, n_ctx=n_prompt + n_gen, n_batch=max(n_prompt, 1), threads=threads)
    load_s = time.perf_counter() - t0
    prompt = (text_tokens or eng.tokenize(evaldata.load().text))[:n_prompt]
    pp, pp_sd, tg, tg_sd = measure_engine(eng, prompt, n_gen, reps)
    res = SpeedResult(threads, load_s, len(prompt), pp, n_gen, tg, peak_rss_mb(), reps, pp_sd, tg_sd)
    return res, eng


def peak_rss_mb() -> float:
    """This process's peak resident set. Linux's VmHWM belongs to the current
    address space; ru_maxrss would also count the parent's pages copied at fork
    (a benchmark started from a big process would look big)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_in_subprocess(model: Path, n_threads: int | None = None, timeout: float = 900) -> SpeedResult:
    """Speed alone, in a fresh engine process (``tools.benchmark.engine``)."""
    from lqmf.tools.config import threads as default_threads
    from lqmf.tools.proc import run_child

    out = run_child("lqmf.tools.benchmark.engine", {"op": "speed", "model": str(model),
                                               "threads": n_threads or default_threads()},
                    what="the speed benchmark", timeout=timeout)
    return SpeedResult(**out["speed"])
