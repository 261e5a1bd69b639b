"""Speed of one GGUF, measured in a fresh process so load time and peak RSS
are its own: ``python -m tools.benchmark.speed MODEL --threads N``.

Prompt processing: one 512-token prompt evaluated in one batch (after a
warm-up), tokens/s. Generation: 64 tokens decoded one at a time (greedy),
tokens/s. Peak RSS: the process's maximum resident set.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.config import threads as default_threads
from tools.errors import from_backend


@dataclass
class SpeedResult:
    threads: int
    load_s: float
    prompt_tokens: int
    prompt_tok_s: float
    gen_tokens: int
    gen_tok_s: float
    peak_rss_mb: float


def measure(model: Path, n_threads: int, n_prompt: int = 512, n_gen: int = 64) -> SpeedResult:
    from tools.llamacpp import load
    import knowledge.evaldata as evaldata

    llama_cpp = load()
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=n_prompt + n_gen + 8, n_batch=n_prompt,
                          n_threads=n_threads, n_threads_batch=n_threads, verbose=False)
    load_s = time.perf_counter() - t0
    tokens = llm.tokenize(evaldata.load().text.encode(), add_bos=True)[:n_prompt]
    llm.eval(tokens[:16])  # warm-up
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    pp = len(tokens) / (time.perf_counter() - t0)
    t0, n = time.perf_counter(), 0
    for _ in llm.generate(tokens[-1:], top_k=1, temp=0.0, reset=False):
        n += 1
        if n >= n_gen:
            break
    tg = n / (time.perf_counter() - t0)
    llm.close()
    return SpeedResult(n_threads, load_s, len(tokens), pp, n, tg, peak_rss_mb())


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
    n_threads = n_threads or default_threads()
    cmd = [sys.executable, "-m", "tools.benchmark.speed", str(model), "--threads", str(n_threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        raise from_backend(err or out or f"exit code {proc.returncode}", "the speed benchmark")
    return SpeedResult(**json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.benchmark.speed")
    ap.add_argument("model", type=Path)
    ap.add_argument("--threads", type=int, default=default_threads())
    args = ap.parse_args(argv)
    res = measure(args.model, args.threads)
    print(json.dumps(asdict(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
