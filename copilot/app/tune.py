"""Tune: the smallest (or fastest) artifact that passes a quality gate, found with
few trials (tools/tune), now or as a job; templates of what it found; the
prediction it orders trials by. Every front end calls these."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


@dataclass
class TuneReport:
    model: str
    gate: str
    goal: str
    best: str | None                  # the candidate key ("Q4_K_M", "Q4_K_M@code")
    reason: str
    trials: list[dict] = field(default_factory=list)
    pruned: dict[str, str] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=list)
    measured: int = 0                 # trials measured by this run (the rest: from the journal)
    best_record: dict | None = None
    template: str | None = None       # saved under this name
    paths: dict[str, dict] = field(default_factory=dict)   # runtime path -> its methods, trials and pick

    @classmethod
    def of(cls, d: dict, template: str | None = None) -> "TuneReport":
        return cls(d["model"], d["gate"], d["goal"], d.get("best"), d.get("reason", ""), list(d.get("trials", [])),
                   dict(d.get("pruned", {})), list(d.get("candidates", [])), int(d.get("measured", 0)),
                   d.get("best_record"), template, dict(d.get("paths") or {}))

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _args(model: str, gate: str | None, goal: str | None, use: str | None, chunks: int | None,
          candidates: list[str] | None, mixed: bool, parallel: int | None, exhaustive: bool = False,
          methods: list[str] | None = None) -> dict:
    from lqmf.copilot.app.gates import parse

    g = parse(gate, use_default=True)
    args = {"model": model, "gate": g.text if g else None, "goal": goal, "use": use, "chunks": chunks,
            "candidates": candidates, "mixed": mixed or None, "parallel": parallel, "exhaustive": exhaustive or None,
            "methods": methods or None}
    return {k: v for k, v in args.items() if v is not None}


def tune(app: "App", model: str, gate: str | None, *, goal: str | None = None, use: str | None = None,
         chunks: int | None = None, candidates: list[str] | None = None, mixed: bool = False,
         parallel: int | None = None, save_template: str | None = None, progress=None,
         on_trial=None, exhaustive: bool = False, methods: list[str] | None = None) -> TuneReport:
    """Run the search now (trials already in the journal are not measured again).
    ``exhaustive``: measure every candidate (the reference the search is checked against).
    ``methods``: mix methods (gguf, bnb, gptq): one search per runtime path (``report.paths``)."""
    from lqmf.tools.tune.args import check_tune_args, run_tune

    args = check_tune_args(_args(model, gate, goal, use, chunks, candidates, mixed, parallel, exhaustive, methods))
    out = run_tune(args, progress or (lambda s, f: None), on_trial=on_trial)
    report = TuneReport.of(out)
    if save_template and report.best:
        report.template = save_from(report, save_template)
    return report


def queue(app: "App", model: str, gate: str | None, *, goal: str | None = None, use: str | None = None,
          chunks: int | None = None, candidates: list[str] | None = None, mixed: bool = False,
          parallel: int | None = None, priority: str | None = None, not_before: str | None = None,
          methods: list[str] | None = None) -> str:
    """Queue the tune as one job (progress in `lqmf jobs`); returns its id."""
    from lqmf.copilot.app import jobs

    jobs.check_not_before(not_before)
    return jobs.submit(app, "tune", [_args(model, gate, goal, use, chunks, candidates, mixed, parallel,
                                           methods=methods)],
                       priority=priority, not_before=not_before)[0]


def report_of_job(app: "App", job_id: str) -> TuneReport | None:
    """A finished tune job's report (None while it runs)."""
    from lqmf.copilot.app import jobs

    view = jobs.show(app, job_id)
    return TuneReport.of(view.result) if view.result and "gate" in view.result else None


def save_from(report: TuneReport, name: str) -> str:
    """Save what a tune found as a template; returns the name."""
    from lqmf.tools.templates import Template, save_template
    from lqmf.tools.tune.candidates import parse_candidate

    assert report.best
    c = parse_candidate(report.best)
    save_template(Template(name, c.quant_type, c.method, dict(c.overrides), c.imatrix, report.gate,
                           f"tune {report.model} {report.gate} ({report.goal})"))
    return name


def template(name: str) -> Any:
    from lqmf.tools.templates import load_template

    return load_template(name)


def save_template(name: str, quant_type: str, *, method: str = "gguf", overrides: dict | None = None,
                  imatrix: str | None = None, gate: str | None = None) -> str:
    from lqmf.tools.templates import Template, save_template as save

    save(Template(name, quant_type, method, dict(overrides or {}), imatrix, gate, "saved by the user"))
    return name


def templates() -> list[str]:
    from lqmf.tools.templates import templates as names

    return names()


def predict(app: "App", model: str, quant_type: str, *, imatrix: str | None = None,
            tensor_types: list[str] | None = None) -> Any:
    """Predicted mean KLD / Δppl of a candidate before any work (a ``predict.Predicted``):
    simulated weight error, scaled by this model's measured history in the store."""
    from lqmf.copilot.app.quantize import recipe_of
    from lqmf.tools.tune.predict import predict as engine

    recipe = recipe_of(imatrix, tensor_types)
    try:
        records = [r.to_dict() for r in app.store().all()]
    except Exception:  # noqa: BLE001 - no store: predict from the trial journal alone
        records = []
    return engine(model, quant_type, recipe, records)
