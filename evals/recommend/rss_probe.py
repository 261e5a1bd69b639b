"""One fresh llama.cpp engine process, as the benchmark's speed stage runs it
(tools/benchmark/speed.py: one 512-token prompt batch, then generation), at a
given context length; prints its peak RSS in MB as JSON. Run by
``memory_fit.py``, one process per (artifact, context)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    req = json.loads(sys.argv[1])
    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.benchmark.speed import measure_engine, peak_rss_mb
    from lqmf.tools.llamacpp import load
    from lqmf.tools.llamacpp.runtime import Engine

    load()
    before = peak_rss_mb()
    eng = Engine(Path(req["model"]), n_ctx=int(req["ctx"]), n_batch=512, threads=int(req.get("threads", 1)))
    prompt = eng.tokenize(evaldata.load().text)[:512]
    measure_engine(eng, prompt, n_gen=8, reps=1)
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "before_model_mb": before, "n_vocab": eng.n_vocab}))
    eng.close()


if __name__ == "__main__":
    main()
