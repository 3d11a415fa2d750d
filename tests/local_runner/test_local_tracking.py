"""Experiment tracking, locally: prod's training state machine (tuning on, and a tracking
server in its job requests) runs with the local runner's MLflow file store in the server's
place, and each trial and the evaluation land in it as runs of the use case's experiment,
under one parent run of the execution."""

from __future__ import annotations

import pytest

from runtime_scripts import contract
from runtime_scripts.common import tracking

STAGE = "prod"
EXECUTION = "tracked-tuning"
TUNING = {"enabled": True, "max_jobs": 2, "max_parallel_jobs": 2,
          "static_hyperparameters": {"num_round": "20", "nthread": "1"}}


@pytest.fixture(scope="module")
def tracked(synthesized, tmp_path_factory):
    from local_runner.local_run import LocalPlatform
    from local_runner.local_seed import Seed

    stage = synthesized[STAGE]
    assert stage.config.experiment_tracking.enabled, "prod no longer tracks: move this test"
    store = tmp_path_factory.mktemp("tracking") / "mlflow"
    with LocalPlatform(stage.outdir, workdir=tmp_path_factory.mktemp("tracked-run"),
                       max_local_trials=2, tracking_store=store) as local:
        local.seed(Seed.for_use_cases(stage.config.use_cases))
        result = local.run("churn:training", {"tuning": TUNING}, name=EXECUTION)
    return result, store.as_uri()


def test_trials_and_evaluation_are_runs_under_the_execution(tracked, monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # what the jobs set for themselves
    result, uri = tracked
    assert result.status == "SUCCEEDED", result.cause
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("churn")
    runs = client.search_runs([experiment.experiment_id],
                              filter_string=f"tags.`{tracking.EXECUTION_TAG}` = '{EXECUTION}'")
    by_job: dict[str, list] = {}
    for run in runs:
        by_job.setdefault(run.data.tags[tracking.JOB_TAG], []).append(run)
    (parent,) = by_job["execution"]
    trials, (evaluation,) = by_job["training"], by_job["evaluation"]
    assert len(trials) == 2
    for run in (*trials, evaluation):
        assert run.data.tags[tracking.PARENT_RUN_TAG] == parent.info.run_id
        assert run.info.status == "FINISHED"
    best = result.output["model"]["training_job_name"]
    assert best in {t.info.run_name for t in trials}  # runs are named after their jobs
    for trial in trials:
        assert {"eta", "max_depth", "num_round"} <= set(trial.data.params)
        assert trial.data.params["num_round"] == "20"
        assert "validation:auc" in trial.data.metrics
        assert len(client.get_metric_history(trial.info.run_id, "train:logloss")) > 1
        artifacts = [a.path for a in client.list_artifacts(trial.info.run_id, "model")]
        assert f"model/{contract.MODEL_FILE}" in artifacts
    # Two trials of one tuning job differ in what was tuned.
    assert trials[0].data.params != trials[1].data.params
    metrics = result.output["evaluation"]["document"]["metrics"]
    assert evaluation.data.metrics == pytest.approx(metrics)
    files = [a.path for a in client.list_artifacts(evaluation.info.run_id, "evaluation")]
    assert sorted(files) == [f"evaluation/{contract.EVALUATION_FILE}",
                             f"evaluation/{contract.REPORT_FILE}"]
