"""The SageMaker API, emulated for local runs: the subset our state machines call.

Jobs are real: each create*Job runs the job's entry point through `local_runner.executors` on the
real data in the emulated S3, and describe* reports what happened (status, failure reason,
artefacts, metrics). Endpoints serve with the image's real inference server (local_endpoints.py).
Names are unique per kind, as in AWS. Models, the model registry and monitoring schedules
(local_monitoring.py) are records with AWS's shapes. Knows nothing of any one pipeline.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from local_runner import executors
from local_runner.api_common import SageMakerError, now, sagemaker_arn
from local_runner.executors.serial import NEXT_CONTAINERS
from local_runner.executors.tuning import best_trial
from local_runner.local_automl import LocalAutoML
from local_runner.local_endpoints import AlarmStates, Invocation, LocalEndpoints
from local_runner.local_faults import JOB_ACTIONS, InjectedFaults, api_error_message
from local_runner.local_monitoring import LocalMonitoring
from local_runner.stand_ins import (
    SERVING_STAND_INS,
    TRAINING_LABEL_KEY,
    debugger_rules,
    repository,
    training_label,
)


@dataclass
class Registry:
    jobs: dict[str, dict[str, dict]] = field(default_factory=dict)  # kind -> name -> describe
    models: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, list[dict]] = field(default_factory=dict)  # group -> packages
    tuning_trials: dict[str, list] = field(default_factory=dict)


class LocalSageMaker:
    """Thread-safe: Step Functions' interpreter calls it from its execution threads."""

    def __init__(self, *, s3, program: executors.LocalProgram, workdir: Path,
                 region: str = "eu-west-1", max_local_trials: int = 4,
                 alarm_states: AlarmStates | None = None, time_scale: float = 0.001) -> None:
        self.s3, self.program, self.workdir = s3, program, workdir
        self.region, self.max_local_trials = region, max_local_trials
        self.state = Registry()
        self.calls: list[tuple[str, str]] = []  # (action, name) in call order, for tests and logs
        self.faults = InjectedFaults()
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self.endpoints = LocalEndpoints(s3=s3, program=program, workdir=workdir / "endpoints",
                                        arn=self.arn, model=self._model_data,
                                        alarm_states=alarm_states, time_scale=time_scale)
        self.monitoring = LocalMonitoring(
            arn=self.arn, endpoint_exists=lambda name: name in self.endpoints.endpoints)
        self.automl = LocalAutoML(s3=s3, register=self._register_job, finish=self._finish_job,
                                  describe=self.describe_job, arn=self.arn)

    # --- test and demo hooks ---------------------------------------------------------------------
    def inject_faults(self, action: str, codes: list[str]) -> None:
        """The next len(codes) calls of `action` are refused with these error codes (e.g.
        `ThrottlingException`, `ValidationException`) and SageMaker's message for each."""
        self.faults.add_api_errors(action, codes)

    def inject_job_failures(self, action: str, reasons: list[str]) -> None:
        """The next len(reasons) jobs `action` creates fail with these FailureReasons without
        running (local_faults.py): e.g. an emulated capacity shortage."""
        self.faults.add_job_failures(action, reasons)

    def create_model_package_group(self, name: str) -> None:
        self.state.groups.setdefault(name, [])

    # --- dispatch --------------------------------------------------------------------------------
    def _handler(self, action: str) -> Callable[[dict], dict] | None:
        method = f"_api_{action}"
        return next((getattr(api, method) for api in (self, self.endpoints, self.monitoring,
                                                     self.automl)
                     if hasattr(api, method)), None)

    def handles(self, action: str) -> bool:
        return self._handler(action) is not None

    def call(self, action: str, request: dict) -> dict:
        handler = self._handler(action)
        if handler is None:
            raise SageMakerError("UnknownOperation", f"{action} is not emulated locally")
        code = self.faults.next_api_error(action)
        if code is not None:
            with self._lock:
                self.calls.append((action, f"<injected {code}>"))
            raise SageMakerError(code, api_error_message(code, action))
        reason = self.faults.next_job_failure(action)
        if reason is not None:
            return self._unprovisioned_job(action, request, reason)
        return handler(request)

    def _unprovisioned_job(self, action: str, request: dict, reason: str) -> dict:
        kind, name_key, arn_type = JOB_ACTIONS[action]
        name, _ = self._register_job(kind, name_key, request)
        noun = name_key.removesuffix("Name")
        return self._finish_job(kind, name, {
            **request, f"{noun}Arn": self.arn(arn_type, name), f"{noun}Status": "Failed",
            "FailureReason": reason, "LogTail": ""})

    def arn(self, resource: str, name: str) -> str:
        return sagemaker_arn(self.region, resource, name)

    # --- endpoints (local_endpoints.py) ----------------------------------------------------------
    def invoke_endpoint(self, name: str, body: bytes, content_type: str = "text/csv",
                        accept: str | None = None,
                        target_variant: str | None = None) -> Invocation:
        """InvokeEndpoint (sagemaker-runtime): the request answered by the endpoint's server."""
        return self.endpoints.invoke(name, body, content_type, accept, target_variant)

    def close(self) -> None:
        """Stop every endpoint's server; LocalPlatform calls it on exit."""
        self.endpoints.close()

    # --- jobs ------------------------------------------------------------------------------------
    def _register_job(self, kind: str, name_key: str, request: dict) -> tuple[str, Path]:
        name = request[name_key]
        with self._lock:
            existing = self.state.jobs.setdefault(kind, {})
            if name in existing:
                raise SageMakerError("ValidationException",
                                     f"Job name must be unique within an AWS account and region, "
                                     f"and a job with this name already exists ({name})")
            existing[name] = {name_key: name, "Status": "InProgress"}
            self.calls.append((kind, name))
            # Jobs of one execution may start at once (a distributed Map): each its own folder.
            workdir = self.workdir / kind / f"{next(self._counter):03d}-{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        return name, workdir

    def _finish_job(self, kind: str, name: str, describe: dict) -> dict:
        finished = now()
        describe.setdefault("CreationTime", finished)
        describe["LastModifiedTime"] = finished
        with self._lock:
            self.state.jobs[kind][name] = describe
        return describe

    def describe_job(self, kind: str, name: str) -> dict:
        try:
            return self.state.jobs[kind][name]
        except KeyError:
            raise SageMakerError("ResourceNotFound", f"Requested resource not found: {name}") \
                from None

    def _api_createProcessingJob(self, request: dict) -> dict:
        name, workdir = self._register_job("processing-job", "ProcessingJobName", request)
        outcome = executors.run_processing_job(request, self.s3, self.program, workdir)
        return self._finish_job("processing-job", name, {
            **request, "ProcessingJobArn": self.arn("processing-job", name),
            "ProcessingJobStatus": outcome.status,
            # What the job wrote to /opt/ml/output/message (a stand-in's emulation label).
            **({"ExitMessage": outcome.exit_message} if outcome.exit_message else {}),
            **_failure(outcome), "LogTail": outcome.log_tail})

    def _api_createTrainingJob(self, request: dict) -> dict:
        return self._train(request)

    def _train(self, request: dict) -> dict:
        name, workdir = self._register_job("training-job", "TrainingJobName", request)
        outcome = executors.run_training_job(request, self.s3, self.program, workdir)
        return self._finish_job("training-job", name, {
            **request, "TrainingJobArn": self.arn("training-job", name),
            "TrainingJobStatus": outcome.status, "SecondaryStatus": outcome.status,
            **_failure(outcome),
            # Debugger's rule containers, emulated (stand_ins/debugger_rules.py).
            **debugger_rules.rule_statuses(request, workdir),
            "ModelArtifacts": {"S3ModelArtifacts": outcome.model_artifacts or ""},
            "FinalMetricDataList": [{"MetricName": k, "Value": v, "Timestamp": now()}
                                    for k, v in outcome.final_metrics.items()],
            # A stand-in's emulation label (stand_ins.TRAINING_LABEL_KEY), for the CLI to print:
            # the built-in algorithm's stand-in, the channels emulated (a Pipe's FIFO).
            **({TRAINING_LABEL_KEY: label} if (label := training_label(outcome)) else {}),
            "LogTail": outcome.log_tail})

    def _api_describeTrainingJob(self, request: dict) -> dict:
        return self.describe_job("training-job", request["TrainingJobName"])

    def _api_createHyperParameterTuningJob(self, request: dict) -> dict:
        name, workdir = self._register_job("tuning-job", "HyperParameterTuningJobName", request)
        parents = [p["HyperParameterTuningJobName"] for p in
                   request.get("WarmStartConfig", {}).get("ParentHyperParameterTuningJobs", [])]
        parent_trials = []
        for parent in parents:
            if parent not in self.state.tuning_trials:
                raise SageMakerError("ResourceNotFound",
                                     f"Parent tuning job {parent} does not exist")
            parent_trials += [(hp, obj) for _, hp, obj, status in self.state.tuning_trials[parent]
                              if obj is not None]

        def run_trial(trial_name: str, training_request: dict) -> executors.JobOutcome:
            describe = self._train({**training_request, "TrainingJobName": trial_name})
            return _outcome_of(describe)

        def on_trial(trials: list, planned: int) -> None:
            # DescribeHyperParameterTuningJob reports the counters and the best training job
            # so far while the job is InProgress; `LocalTrialsPlanned` is the local cap.
            progress = self._tuning_describe(request, "InProgress", trials)
            with self._lock:
                self.state.jobs["tuning-job"][name] = {**progress, "LocalTrialsPlanned": planned}

        outcome = executors.run_tuning_job(
            request, self.s3, self.program, workdir, run_trial=run_trial,
            max_local_trials=self.max_local_trials, parent_trials=parent_trials,
            on_trial=on_trial)
        with self._lock:
            self.state.tuning_trials[name] = list(outcome.trials)
        describe = {**self._tuning_describe(request, outcome.status, outcome.trials),
                    "WarmStartedFrom": list(outcome.warm_started_from)}
        if outcome.failure_reason:
            describe["FailureReason"] = outcome.failure_reason
        return self._finish_job("tuning-job", name, describe)

    def _tuning_describe(self, request: dict, status: str, trials: list) -> dict:
        name = request["HyperParameterTuningJobName"]
        objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        describe = {**request, "HyperParameterTuningJobArn": self.arn("hyper-parameter-tuning-job",
                                                                      name),
                    "HyperParameterTuningJobStatus": status,
                    "TrainingJobStatusCounters": _counters(trials)}
        best = best_trial(trials, objective["Type"])
        if best is not None:
            describe["BestTrainingJob"] = {
                "TrainingJobName": best[0], "TuningJobName": name,
                "TrainingJobArn": self.arn("training-job", best[0]),
                "TunedHyperParameters": best[1], "TrainingJobStatus": best[3],
                "FinalHyperParameterTuningJobObjectiveMetric": {
                    "MetricName": objective["MetricName"], "Type": objective["Type"],
                    "Value": best[2]}}
        return describe

    def in_progress(self) -> list[dict]:
        """The describe output of every job still running (for a live view of a local run)."""
        with self._lock:
            return [dict(job) for kind in self.state.jobs.values() for job in kind.values()
                    if "InProgress" in (job.get("Status"), job.get(
                        "HyperParameterTuningJobStatus"))]

    def _api_createTransformJob(self, request: dict) -> dict:
        name, workdir = self._register_job("transform-job", "TransformJobName", request)
        model = self._model_data(request["ModelName"])
        outcome = executors.run_transform_job(request, model, self.s3, self.program, workdir)
        return self._finish_job("transform-job", name, {
            **request, "TransformJobArn": self.arn("transform-job", name),
            "TransformJobStatus": outcome.status, **_failure(outcome),
            "LogTail": outcome.log_tail})

    # --- models and registry ---------------------------------------------------------------------
    def _api_createModel(self, request: dict) -> dict:
        name = request["ModelName"]
        with self._lock:
            if name in self.state.models:
                existing = self.arn("model", name)
                raise SageMakerError("ValidationException",
                                     f'Cannot create already existing model "{existing}".')
            container = request.get("PrimaryContainer") or request["Containers"][0]
            package = container.get("ModelPackageName")
            if package:
                self._package(package)  # must exist
            self.state.models[name] = {**request, "ModelArn": self.arn("model", name),
                                       "CreationTime": now()}
            self.calls.append(("model", name))
        return {"ModelArn": self.arn("model", name)}

    def _model_data(self, model_name: str) -> dict:
        model = self.state.models.get(model_name)
        if model is None:
            raise SageMakerError("ValidationException",
                                 f"Could not find model \"{self.arn('model', model_name)}\".")
        containers = model.get("Containers") or [model["PrimaryContainer"]]
        if "ModelPackageName" in containers[0]:
            package = self._package(containers[0]["ModelPackageName"])
            containers = package["InferenceSpecification"]["Containers"]
        container = containers[0]
        environment = dict(container.get("Environment") or {})
        documents = [{"ModelDataUrl": c["ModelDataUrl"], "Image": c.get("Image"),
                      "Environment": dict(c.get("Environment") or {})} for c in containers]
        if all(repository(c.get("Image") or "") in SERVING_STAND_INS for c in containers[1:]):
            # A serial inference pipeline of an emulated AutoML candidate: its containers hold
            # one fitted pipeline (stand_ins/automl.py), served once, environments merged.
            for later in containers[1:]:
                environment.update(later.get("Environment") or {})
            return {**documents[0], "Environment": environment}
        # Any other serial inference pipeline runs container by container (executors/serial.py).
        return {**documents[0], NEXT_CONTAINERS: documents[1:]}

    def _package(self, arn: str) -> dict:
        for packages in self.state.groups.values():
            for package in packages:
                if package["ModelPackageArn"] == arn.lower():
                    return package
        raise SageMakerError("ValidationException", f"Model package {arn} does not exist.")

    def _api_createModelPackage(self, request: dict) -> dict:
        group = request["ModelPackageGroupName"]
        with self._lock:
            if group not in self.state.groups:
                raise SageMakerError("ValidationException",
                                     f"Model Package Group {group} does not exist.")
            version = len(self.state.groups[group]) + 1
            arn = self.arn("model-package", f"{group}/{version}")
            self.state.groups[group].append({
                **request, "ModelPackageArn": arn, "ModelPackageVersion": version,
                "ModelPackageStatus": "Completed", "CreationTime": now(),
                "ModelApprovalStatus": request.get("ModelApprovalStatus",
                                                   "PendingManualApproval")})
            self.calls.append(("model-package", arn))
        return {"ModelPackageArn": arn}

    def _api_updateModelPackage(self, request: dict) -> dict:
        with self._lock:
            package = self._package(request["ModelPackageArn"])
            package["ModelApprovalStatus"] = request["ModelApprovalStatus"]
        return {"ModelPackageArn": package["ModelPackageArn"]}

    def _api_describeModelPackage(self, request: dict) -> dict:
        return self._package(request["ModelPackageName"])

    def _api_listModelPackages(self, request: dict) -> dict:
        packages = list(self.state.groups.get(request.get("ModelPackageGroupName", ""), []))
        status = request.get("ModelApprovalStatus")
        if status:
            packages = [p for p in packages if p["ModelApprovalStatus"] == status]
        key = "CreationTime" if request.get("SortBy", "CreationTime") == "CreationTime" \
            else "ModelPackageArn"
        packages.sort(key=lambda p: (p[key], p["ModelPackageVersion"]),
                      reverse=request.get("SortOrder", "Ascending") == "Descending")
        limit = int(request.get("MaxResults", 100))
        fields = ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion",
                  "ModelPackageStatus", "ModelApprovalStatus", "CreationTime")
        return {"ModelPackageSummaryList": [{f: p[f] for f in fields} for p in packages[:limit]]}


def _failure(outcome: executors.JobOutcome) -> dict:
    return {"FailureReason": outcome.failure_reason} if outcome.status == "Failed" else {}


def _outcome_of(describe: dict) -> executors.JobOutcome:
    return executors.JobOutcome(
        status=describe["TrainingJobStatus"], failure_reason=describe.get("FailureReason"),
        log_tail=describe.get("LogTail", ""),
        final_metrics={m["MetricName"]: m["Value"] for m in describe["FinalMetricDataList"]},
        model_artifacts=describe["ModelArtifacts"]["S3ModelArtifacts"] or None,
        output_location=None)


def _counters(trials: list) -> dict:
    statuses = [t[3] for t in trials]
    return {"Completed": statuses.count("Completed"), "InProgress": 0,
            "RetryableError": 0, "NonRetryableError": statuses.count("Failed"), "Stopped": 0}


def failure_cause(describe: dict) -> str:
    """What Step Functions puts in the cause of a failed `.sync` job: the describe output."""
    return json.dumps({k: v for k, v in describe.items() if k != "LogTail"}, default=str)
