"""Tune: the smallest (or fastest) artifact of a model that passes a quality
gate, found with few trials (search.py), each trial a quantize + benchmark
(trials.py), ordered by a prediction (predict.py). Resumable: the trials done
are in the trial journal, and a restarted tune does not measure them again."""
from __future__ import annotations

from lqmf.tools.gates import Gate
from lqmf.tools.progress import Progress, noop
from lqmf.tools.tune.candidates import Candidate, default_candidates, parse_candidate
from lqmf.tools.tune.paths import search_paths, size_estimator
from lqmf.tools.tune.search import Goal, SearchResult, Trial, search  # noqa: F401 - the one-path search
from lqmf.tools.tune.trials import Runner, Setting

__all__ = ["Candidate", "Goal", "SearchResult", "Trial", "tune", "parse_candidate", "default_candidates",
           "auto_parallel"]


def auto_parallel(model: str, candidates: list[Candidate], threads: int) -> int:
    """How many trials fit side by side: free RAM over one trial's need, and the cores."""
    from lqmf.tools.scheduler.resources import estimate_quantize, free_ram, machine_cores

    try:
        need = max(estimate_quantize(model, c.quant_type).ram_bytes for c in candidates[:3])
    except Exception:  # noqa: BLE001 - an estimate we cannot make: one at a time
        return 1
    by_ram = int(free_ram() * 0.8 // max(need, 1))
    return max(1, min(by_ram, machine_cores() // max(1, threads), 4))


def tune(model: str, gate: Gate, *, goal: Goal | str = Goal.SMALLEST, candidates: list[Candidate] | None = None,
         chunks: int = 8, ctx: int = 512, parallel: int | None = None, progress: Progress = noop,
         fresh: bool = False, exhaustive: bool = False, prior=None, on_trial=None) -> tuple[SearchResult, Runner]:
    """Search; returns the result and the runner (``runner.measured``: trials measured now,
    the others came from the journal)."""
    from lqmf.tools.config import threads as default_threads
    from lqmf.tools.models import resolve
    from lqmf.tools.tune.predict import prior_for

    goal = Goal(goal)
    from lqmf.tools.quantize.convert import fingerprint

    source = resolve(model)  # an unknown model: one sentence before any trial
    cands = candidates or default_candidates()
    speed = goal is Goal.FASTEST or gate.needs_speed()
    threads = default_threads()
    par = parallel or (1 if speed else auto_parallel(model, cands, threads))  # speed trials alone: no contention
    runner = Runner(Setting(model, chunks, ctx, speed, fingerprint(source)), gate, parallel=par, progress=progress, fresh=fresh,
                    on_trial=on_trial)
    res = search_paths(cands, gate, runner, prior or prior_for(model), goal=goal, parallel=par,
                       exhaustive=exhaustive, size_of=size_estimator(model))
    return res, runner
