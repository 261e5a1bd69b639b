"""A mix of methods: one tune over candidates of several methods, under one gate,
answered per runtime path. GGUF artifacts run on llama.cpp, bitsandbytes and
GPTQ folders on transformers (each backend declares its ``bench`` engine); a
user deploying to both wants the best for each, and the best of all. So the
search (search.py) runs once per path, each with its own early stopping and its
own calibration of the prior (a 4-bit NF4 and a 4-bit k-quant do not map weight
noise to KLD alike), sharing one trial runner and journal; the result records
exactly what was mixed: per path, its methods, candidates, trials and pick.

Sizes across methods are the backends' own estimates for this model
(``Backend.estimate_bytes`` with its shapes: bitsandbytes keeps the embeddings
in float32, so its 4-bit folder can be larger than an 8-bit GGUF)."""
from __future__ import annotations

from collections.abc import Callable

from lqmf.tools.gates import Gate
from lqmf.tools.tune.candidates import Candidate
from lqmf.tools.tune.search import Goal, Measure, Prior, SearchResult, _best, _reason, search


def by_path(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    """Candidates grouped by runtime path, in the order paths first appear."""
    out: dict[str, list[Candidate]] = {}
    for c in candidates:
        out.setdefault(c.path, []).append(c)
    return out


def search_paths(candidates: list[Candidate], gate: Gate, measure: Measure, prior: Prior, *,
                 goal: Goal = Goal.SMALLEST, size_of: Callable[[Candidate], float] | None = None,
                 parallel: int = 1, exhaustive: bool = False) -> SearchResult:
    """One search per path; the combined result's best is the best of the paths' picks,
    and ``paths`` says what each path found. One path: the plain search."""
    groups = by_path(candidates)
    if len(groups) == 1:
        res = search(candidates, gate, measure, prior, goal=goal, size_of=size_of, parallel=parallel,
                     exhaustive=exhaustive)
        res.paths = {next(iter(groups)): _path_summary(res)}
        return res
    parts = {p: search(cs, gate, measure, prior, goal=goal, size_of=size_of, parallel=parallel,
                       exhaustive=exhaustive) for p, cs in groups.items()}
    size_of = size_of or (lambda c: c.bpw)
    order = sorted(candidates, key=size_of)
    res = SearchResult(goal, gate.text, [c.key for c in order])
    for part in parts.values():
        res.trials += part.trials
        res.pruned.update(part.pruned)
    res.best = _best(res, goal)
    res.reason = _reason(res, gate)
    res.paths = {p: _path_summary(part) for p, part in parts.items()}
    return res


def _path_summary(part: SearchResult) -> dict:
    from lqmf.tools.tune.candidates import parse_candidate

    best = part.best
    return {"methods": sorted({parse_candidate(k).method for k in part.candidates}),
            "candidates": part.candidates, "trials": [t.candidate for t in part.trials],
            "best": best.candidate if best else None, "method": parse_candidate(best.candidate).method if best else None,
            "size_bytes": best.size_bytes if best else None, "artifact": best.record.get("artifact") if best else None,
            "reason": part.reason}


def size_estimator(model: str) -> Callable[[Candidate], float] | None:
    """Each candidate's artifact size for ``model``, by its backend's estimate (None: the
    model's shapes cannot be read; the search then orders by bits per weight)."""
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.models import inspect, resolve
    from lqmf.tools.quantize.model_shapes import read_shapes
    from lqmf.tools.quantize.registry import current

    try:
        source = resolve(model)
        n_params = inspect(source).n_params
        dense = read_shapes(source).dense_params
    except (LqmfError, OSError, ValueError):
        return None
    if not n_params:
        return None
    reg = current()

    def size_of(c: Candidate) -> float:
        return float(reg.backend_of(c.quant_type).estimate_bytes(n_params, reg.spec(c.quant_type), dense))

    return size_of
