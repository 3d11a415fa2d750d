"""runtime_scripts/common/tracking.py: a job's MLflow run, written to a file store as the local
runs write it; nothing without a tracking URI; a warning, never a failed job, when the
tracking server cannot be reached."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from runtime_scripts import contract
from runtime_scripts.common import tracking


@pytest.fixture(autouse=True)
def _client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """What write_run sets in the (job's) environment is undone after each test here."""
    for name in (*tracking.CLIENT_SETTINGS, "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = (tmp_path / "mlflow").as_uri()
    monkeypatch.setenv(contract.TRACKING_URI_ENV, uri)
    monkeypatch.setenv(contract.EXECUTION_ENV, "exec-1")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # for the reading client too
    return uri


def trial(name: str, eta: float, model: Path) -> tracking.JobRun:
    with tracking.job_run("training", name) as run:
        run.log_params({"eta": eta, "max_depth": 3, "unset": None})
        print("#metrics round=1 train:logloss=0.50 validation:auc=0.80")
        print(f"#metrics round=2 train:logloss=0.40 validation:auc={0.80 + eta}")
        print(f"#metrics round=2 final=1 train:logloss=0.40 validation:auc={0.80 + eta}")
        run.log_artifacts(model, "model")
    return run


def test_trials_of_one_execution_sit_side_by_side_under_its_parent_run(store, tmp_path):
    from mlflow.tracking import MlflowClient

    model = tmp_path / "model"
    model.mkdir()
    (model / contract.MODEL_FILE).write_text("{}")
    runs = [trial("tune-001", 0.05, model), trial("tune-002", 0.1, model)]
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("churn")  # the use case (conftest sets it)
    (parent,) = client.search_runs([experiment.experiment_id],
                                   filter_string="tags.`ml.job` = 'execution'")
    assert parent.info.run_name == "exec-1"
    for run, eta in zip(runs, (0.05, 0.1), strict=True):
        logged = client.get_run(run.run_id)
        assert logged.info.run_name == run.name and logged.info.status == "FINISHED"
        assert logged.data.tags[tracking.PARENT_RUN_TAG] == parent.info.run_id
        assert logged.data.tags[tracking.EXECUTION_TAG] == "exec-1"
        assert logged.data.params == {"eta": str(eta), "max_depth": "3"}
        assert logged.data.metrics["validation:auc"] == pytest.approx(0.80 + eta)
        history = client.get_metric_history(run.run_id, "validation:auc")
        assert [(m.step, m.value) for m in history if m.step] == [(1, 0.80), (2, 0.80 + eta)]
        (artifact,) = client.list_artifacts(run.run_id, "model")
        assert artifact.path == f"model/{contract.MODEL_FILE}"


def test_a_failing_job_fails_and_its_run_says_so(store):
    from mlflow.tracking import MlflowClient

    with pytest.raises(RuntimeError, match="no data"):
        with tracking.job_run("evaluation", "eval-1") as run:
            run.log_params({"source": "raw"})
            raise RuntimeError("no data")
    assert MlflowClient(tracking_uri=store).get_run(run.run_id).info.status == "FAILED"


def test_no_tracking_uri_is_one_log_line_and_nothing_else(monkeypatch, caplog):
    monkeypatch.delenv(contract.TRACKING_URI_ENV, raising=False)
    monkeypatch.setitem(__import__("sys").modules, "mlflow", None)  # importing it would fail
    caplog.set_level(logging.INFO, logger="tracking")
    with tracking.job_run("training", "job-1") as run:
        run.log_metrics({"validation:auc": 0.9})
    assert run.run_id is None
    assert [r.getMessage() for r in caplog.records if r.name == "tracking"] == [
        f"experiment tracking off: {contract.TRACKING_URI_ENV} is not set"]


def closed_port() -> str:
    with socket.socket() as probe:  # a port nothing listens on (free, then closed)
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("server", ["closed port", "tracking server ARN without credentials"])
def test_an_unreachable_server_is_a_warning_and_the_job_goes_on(server, monkeypatch, caplog,
                                                                 tmp_path):
    if server == "closed port":
        uri = closed_port()
    else:  # the sagemaker-mlflow plugin signs with the job's credentials: here there are none
        uri = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/t"
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                     "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv(contract.TRACKING_URI_ENV, uri)
    caplog.set_level(logging.WARNING, logger="tracking")
    with tracking.job_run("training", "job-1") as run:
        done = True
    assert done and run.run_id is None
    (warning,) = [r for r in caplog.records if r.name == "tracking"]
    assert "could not write run job-1" in warning.getMessage()
    assert "the job goes on without it" in warning.getMessage()


def test_a_multi_instance_job_logs_once_from_its_first_host(store, monkeypatch):
    monkeypatch.setenv("SM_HOSTS", '["algo-1", "algo-2"]')
    written = {}
    for host in ("algo-2", "algo-1"):
        monkeypatch.setenv("SM_CURRENT_HOST", host)
        with tracking.job_run("training", "job-1") as run:
            run.log_params({"eta": 0.1})
        written[host] = run.run_id
    assert written["algo-2"] is None and written["algo-1"] is not None
