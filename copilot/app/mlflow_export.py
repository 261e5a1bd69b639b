"""Every experiment record as an MLflow run (``lqmf export --mlflow URI``): the
record's settings as parameters, each measured figure (``types.METRICS``) as a
metric, the artifact's path and SHA-256 as tags, so the runs show in MLflow's
own UI. A record already exported to that experiment is skipped (its id is the
tag ``lqmf.record_id``). A ``sqlite:///`` store keeps its artifacts next to the
database (never ``./mlruns`` in the current folder)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.copilot.app.audit import audited
from lqmf.tools.errors import InvalidInput, MissingComponent

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App

PARAMS = ("kind", "model", "model_name", "family", "architecture", "method", "quant_type", "bits", "device",
          "threads", "ctx", "eval_text", "eval_tokens", "host", "n_params")
TAGS = ("artifact", "artifact_sha256", "source_path", "source_sha256", "error")
RECORD_TAG = "lqmf.record_id"


@dataclass
class MlflowExported:
    uri: str
    experiment: str
    experiment_id: str
    logged: int
    skipped: int
    artifact_location: str | None


def _artifact_location(uri: str) -> str | None:
    """Where runs' artifacts go: beside a sqlite database or a file store; the server's choice otherwise."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):]).expanduser()
        return (db.resolve().parent / "mlflow-artifacts").as_uri()
    if uri.startswith("file:"):
        return None  # a file store puts them under itself
    return None


def check_uri(uri: str) -> str:
    uri = uri.strip()
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):]).expanduser()
        if not db.parent.is_dir():
            raise InvalidInput(f"the folder of the MLflow database {db} does not exist", "create it or pick another path")
        return f"sqlite:///{db.resolve()}"
    if uri.startswith(("http://", "https://", "file:")):
        return uri
    if uri and "://" not in uri:  # a plain path: a sqlite file there
        return check_uri(f"sqlite:///{uri}")
    raise InvalidInput(f"cannot use the MLflow tracking URI {uri[:120]!r}",
                       "use sqlite:///path/mlflow.db, a file: store, or an http(s):// tracking server")


@audited("export.mlflow")
def export(app: "App", uri: str, *, experiment: str = "lqmf") -> MlflowExported:
    uri = check_uri(uri)
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingComponent("MLflow export needs mlflow-skinny, which is not installed",
                               "pip install 'lqmf[mlflow]'") from None
    from lqmf.copilot.app.types import METRICS

    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    location = _artifact_location(uri)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment, artifact_location=location)
    done: set[str | None] = set()
    token = None
    while True:
        page = client.search_runs([exp_id], max_results=1000, page_token=token)
        done.update(r.data.tags.get(RECORD_TAG) for r in page)
        token = page.token
        if not token:
            break
    logged = skipped = 0
    from lqmf.copilot.app.query import records

    for rec in sorted(records(app), key=lambda r: r.created_at):
        if rec.id in done:
            skipped += 1
            continue
        d = rec.to_dict()
        ms = int(rec.created_at * 1000)
        run = client.create_run(exp_id, start_time=ms, run_name=f"{rec.model_name or rec.model} "
                                f"{rec.quant_type or ''} {rec.kind}".strip(), tags={RECORD_TAG: rec.id})
        metrics = [Metric(m.value, float(d[m.value]), ms, 0) for m in METRICS if isinstance(d.get(m.value), (int, float))]
        params = [Param(k, str(d[k])[:6000]) for k in PARAMS if d.get(k) not in (None, "")]
        params += [Param(f"tool.{k}", str(v)[:6000]) for k, v in sorted((d.get("tool_versions") or {}).items())]
        tags = [RunTag(f"lqmf.{k}", str(d[k])[:5000]) for k in TAGS if d.get(k)]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        end = ms + int((rec.duration_s or 0) * 1000)
        client.set_terminated(run.info.run_id, status="FINISHED" if rec.status == "succeeded" else "FAILED", end_time=end)
        logged += 1
    return MlflowExported(uri, experiment, str(exp_id), logged, skipped, location)
