"""`lqmf export --mlflow URI`: every record logged to a real MLflow sqlite store
(mlflow-skinny), read back through MLflow's own client; artifacts located beside
the database, never ./mlruns in the current folder; a second export adds nothing."""
from __future__ import annotations

import os

import pytest

from tests.serve_fixtures import lqmf, seed
from tests.store_fixtures import sample_records

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


@pytest.mark.slow   # opening the store (Chroma, the embedder) twice in subprocesses: ~25 s idle, ~90 s on a busy machine
def test_export_and_read_back(tmp_path):
    home = tmp_path / "home"
    seed(home, sample_records())
    work = tmp_path / "cwd"
    work.mkdir()
    db = tmp_path / "ml" / "mlflow.db"
    db.parent.mkdir()
    uri = f"sqlite:///{db}"
    env = dict(os.environ, LQMF_HOME=str(home))
    import subprocess
    import sys

    from tests.conftest import ROOT

    cmd = [sys.executable, "-m", "lqmf.copilot.cli", "export", "--mlflow", uri]
    res = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"logged {len(sample_records())} runs" in res.stderr
    assert list(work.iterdir()) == []          # no ./mlruns where it ran
    assert not (ROOT / "mlruns").exists()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("lqmf")
    assert exp.artifact_location == (db.parent / "mlflow-artifacts").as_uri()
    runs = {r.data.tags["lqmf.record_id"]: r for r in client.search_runs([exp.experiment_id], max_results=100)}
    assert set(runs) == {r.id for r in sample_records()}
    q8 = runs["sm-q80"]
    assert q8.data.metrics["kld_mean"] == pytest.approx(0.0046)
    assert q8.data.metrics["size_bytes"] == 145e6
    assert q8.data.params["quant_type"] == "Q8_0" and q8.data.params["model"] == "smollm2"
    assert q8.info.status == "FINISHED"
    assert runs["mistral-oom"].info.status == "FAILED"
    assert runs["mistral-oom"].data.tags["lqmf.error"] == "the machine ran out of memory"

    again = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "logged 0 runs" in again.stderr and "already there" in again.stderr
    assert len(client.search_runs([exp.experiment_id], max_results=100)) == len(sample_records())


def test_bad_uri_is_one_sentence(tmp_path):
    res = lqmf(tmp_path / "h", "export", "--mlflow", "mysql://somewhere/db")
    assert res.returncode == 2 and "cannot use the MLflow tracking URI" in res.stderr and "Traceback" not in res.stderr
    res = lqmf(tmp_path / "h", "export", "--mlflow", f"sqlite:///{tmp_path}/no/such/dir/m.db")
    assert res.returncode == 2 and "does not exist" in res.stderr
