"""Experiment tracking: one MLflow run per job, grouped per pipeline execution.

`with job_run("training", job_name) as run:` wraps a job's work. Inside, the job adds what its
run records (`run.log_params`, `run.log_metrics`, `run.log_artifacts`); every `#metrics` line the
job prints (runtime_scripts/contract.py) is also kept as a metric series, stepped by its
`round`. When the block ends the run is written in one go, FINISHED or FAILED:

- experiment: the use case (ML_USE_CASE); parent run: the pipeline execution
  (ML_PIPELINE_EXECUTION, one per execution, made by its first job to log), so a tuning job's
  trials sit side by side under it; the job's run is named after the job. A multi-instance
  job logs from its first host only.
- where: MLFLOW_TRACKING_URI, a SageMaker tracking server's ARN (the `sagemaker-mlflow`
  plugin signs the requests with the job's role) or, locally, a `file:` store. Unset or empty:
  one log line, nothing else, and mlflow is never imported.
- a tracking server that cannot be reached, or refuses, costs a warning and never the job:
  the training result matters more than its log.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runtime_scripts import contract
from runtime_scripts.common.manifest import USE_CASE_ENV

log = logging.getLogger("tracking")

TRACKING_URI_ENV = contract.TRACKING_URI_ENV
EXECUTION_ENV = contract.EXECUTION_ENV
EXECUTION_TAG = "ml.execution"  # on the parent run and on each job's run
JOB_TAG = "ml.job"  # training, evaluation, ...
PARENT_RUN_TAG = "mlflow.parentRunId"  # MLflow's own nesting tag (the UI's tree)
# MLflow's REST client retries a failing server for minutes by default: a job waits seconds.
CLIENT_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@dataclass
class JobRun:
    """What a job's run will record; `run_id` is set once it is written."""

    job: str
    name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    series: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    artifacts: list[tuple[Path, str | None]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None

    def log_params(self, params: dict) -> None:
        self.params.update({str(k): str(v) for k, v in params.items() if v is not None})

    def log_metrics(self, metrics: dict) -> None:
        self.metrics.update({str(k): float(v) for k, v in metrics.items()
                             if isinstance(v, int | float) and not isinstance(v, bool)})

    def log_artifacts(self, path: Path, folder: str | None = None) -> None:
        """A file or a directory (its files), under `folder` of the run's artefacts."""
        self.artifacts.append((Path(path), folder))

    def read_metric_line(self, line: str) -> None:
        """A `#metrics round=N a:b=v ...` line: its metrics at step N (or the next step); the
        `final=1` line's are the run's own metrics."""
        parts = line.split()
        if not parts or parts[0] != contract.METRIC_LINE_PREFIX:
            return
        values, step, final = {}, len(self.series), False
        for part in parts[1:]:
            key, _, value = part.partition("=")
            try:
                number = float(value)
            except ValueError:
                continue
            if key == "round":
                step = int(number)
            elif key == "final":
                final = bool(number)
            elif contract.METRIC_NAME_PATTERN.match(key):
                values[key] = number
        if final:  # the model's own metrics (the round it ends at): the run's summary
            self.log_metrics(values)
        elif values:
            self.series.append((step, values))


def tracking_uri() -> str | None:
    return os.environ.get(TRACKING_URI_ENV) or None


def _secondary_host() -> bool:
    """A multi-instance training job runs the script on every host (SM_HOSTS): one run per
    job is the first host's."""
    try:
        hosts = json.loads(os.environ.get("SM_HOSTS") or "[]")
    except ValueError:
        return False
    current = os.environ.get("SM_CURRENT_HOST")
    return isinstance(hosts, list) and len(hosts) > 1 and current is not None \
        and current != hosts[0]


def processing_job_name(paths: contract.MlPaths) -> str | None:
    """A processing job's name: SageMaker writes the job's request to
    /opt/ml/config/processingjobconfig.json in the container."""
    try:
        config = json.loads((paths.root / "config" / "processingjobconfig.json").read_text())
    except (OSError, ValueError):
        return None
    name = config.get("ProcessingJobName") if isinstance(config, dict) else None
    return name if isinstance(name, str) else None


@contextlib.contextmanager
def job_run(job: str, name: str | None = None) -> Iterator[JobRun]:
    """The job's run (see the module docstring); `name` defaults to `job`."""
    run = JobRun(job=job, name=name or job)
    uri = tracking_uri()
    if uri is None:
        log.info("experiment tracking off: %s is not set", TRACKING_URI_ENV)
        yield run
        return
    if _secondary_host():
        log.info("experiment tracking: the job's first host logs its run")
        yield run
        return
    started = int(time.time() * 1000)
    status = "FAILED"
    with _MetricLines(run):
        try:
            yield run
            status = "FINISHED"
        finally:
            write_run(run, uri, started=started, status=status)


def write_run(run: JobRun, uri: str, *, started: int, status: str) -> None:
    """Write `run` to the tracking server at `uri`; any failure is a warning."""
    try:
        for key, value in CLIENT_SETTINGS.items():
            os.environ.setdefault(key, value)
        if uri.startswith("file:"):
            # MLflow 3 keeps its file store in maintenance mode behind this switch; the local
            # runs use it because mlflow-skinny has no database store (no SQLAlchemy).
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        run.run_id = _write(run, uri, started, status)
        log.info("experiment tracking: run %s (%s) written to %s", run.run_id, run.name, uri)
    except Exception as exc:  # noqa: BLE001 - the job's result matters more than its log
        log.warning("experiment tracking: could not write run %s to %s (%s: %s); the job "
                    "goes on without it", run.name, uri, type(exc).__name__,
                    " ".join(str(exc).split())[:300])


def _write(run: JobRun, uri: str, started: int, status: str) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = _experiment(client, os.environ.get(USE_CASE_ENV) or "default")
    execution = os.environ.get(EXECUTION_ENV)
    tags = {JOB_TAG: run.job, **run.tags}
    if execution:
        tags[EXECUTION_TAG] = execution
        tags[PARENT_RUN_TAG] = _parent_run(client, experiment_id, execution, started)
    created = client.create_run(experiment_id, start_time=started, tags=tags, run_name=run.name)
    run_id = created.info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, step) for step, values in run.series for k, v in values.items()]
    metrics += [Metric(k, v, now, 0) for k, v in run.metrics.items()]
    # LogBatch takes at most 100 params and 1000 metrics per call (MLflow's REST limits).
    params = [Param(k, v[:6000]) for k, v in run.params.items()]
    for i in range(0, max(len(params), 1), 100):
        client.log_batch(run_id, params=params[i:i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i:i + 1000])
    for path, folder in run.artifacts:
        if path.is_dir():
            client.log_artifacts(run_id, str(path), folder)
        elif path.is_file():
            client.log_artifact(run_id, str(path), folder)
    client.set_terminated(run_id, status=status)
    return run_id


def _experiment(client, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # another job of the execution created it first
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _parent_run(client, experiment_id: str, execution: str, started: int) -> str:
    """The execution's parent run: the earliest one tagged with it, made if there is none (two
    jobs finishing at once may both make one; each then picks the same, earliest one)."""
    query = f"tags.`{EXECUTION_TAG}` = '{execution}' and tags.`{JOB_TAG}` = 'execution'"

    def earliest():
        runs = client.search_runs([experiment_id], filter_string=query, max_results=10,
                                  order_by=["attributes.start_time ASC"])
        return min(runs, key=lambda r: (r.info.start_time, r.info.run_id)) if runs else None

    parent = earliest()
    if parent is None:
        made = client.create_run(experiment_id, start_time=started, run_name=execution,
                                 tags={EXECUTION_TAG: execution, JOB_TAG: "execution"})
        client.set_terminated(made.info.run_id, status="FINISHED")  # a folder, not a job
        parent = earliest()
    return parent.info.run_id


class _MetricLines(io.TextIOBase):
    """Tees sys.stdout: every line still reaches the log, and `#metrics` lines the run too."""

    def __init__(self, run: JobRun) -> None:
        self.run, self.target, self.pending = run, sys.stdout, ""

    def __enter__(self) -> _MetricLines:
        sys.stdout = self
        return self

    def __exit__(self, *exc) -> None:
        sys.stdout = self.target
        if self.pending:
            self.run.read_metric_line(self.pending)

    def write(self, text: str) -> int:
        self.target.write(text)
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        for line in lines:
            if line.startswith(contract.METRIC_LINE_PREFIX):
                self.run.read_metric_line(line)
        return len(text)

    def flush(self) -> None:
        self.target.flush()
