"""What a service Task returns, for walking the state machines without AWS.

`operation_output_shape` names the botocore shape Step Functions returns for an integration:
the operation's own output for request-response and aws-sdk calls; for `.sync` SageMaker jobs
the Describe*Job output and for `glue:startJobRun.sync` GetJobRun's `JobRun` (what Step Functions
returns once the job ends, and what the local engine returns too). Member names are the model's,
first letter upper-cased: AWS documents that Step Functions expresses aws-sdk parameters in
PascalCase even where the API is camelCase (Step Functions' own `executionArn`), and
`local_runner/api_common.py` converts responses the same way.

An example output is built from that shape: every member the request also holds is echoed (a
describe call reports what the create call asked for), required members get a typed example, and
`OUTCOMES` adds what the state machines read (ARNs, statuses, artefact locations), one entry per
way the call can come out that leads somewhere else (a list found empty, an endpoint still
updating, a package pending approval). Every Task can also fail (`FAILURE`), which the walker
follows into its Catch.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from runtime_scripts import contract
from runtime_scripts.common.manifest import available_use_cases, load_manifest
from runtime_scripts.common.resampling.statistics import registry_metadata, summarise

ACCOUNT, REGION = "123456789012", "eu-west-1"
# Step Functions' service names where botocore's differ.
BOTO_SERVICES = {"sfn": "stepfunctions", "states": "stepfunctions",
                 "applicationautoscaling": "application-autoscaling"}


@functools.cache
def service_model(service: str) -> ServiceModel:
    return _session().get_service_model(service)


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def operation_model(service: str, action: str) -> OperationModel:
    """`createTrainingJob` or `CreateTrainingJob` of a botocore service, by either spelling."""
    model = service_model(service)
    wanted = action.replace("_", "").lower()
    name = next((n for n in model.operation_names if n.lower() == wanted), None)
    if name is None:
        raise KeyError(f"{service} has no operation {action!r}")
    return model.operation_model(name)


def operation_output_shape(service: str, operation: str, integration: str) -> Shape | None:
    if integration == "sync" and service == "sagemaker" and operation.startswith("Create"):
        return operation_model(service, "Describe" + operation[len("Create"):]).output_shape
    if integration == "sync" and service == "glue" and operation == "StartJobRun":
        return operation_model("glue", "GetJobRun").output_shape.members["JobRun"]
    if integration == "sync" and service == "stepfunctions":
        return operation_model(service, "DescribeExecution").output_shape
    return operation_model(service, operation).output_shape


def sfn_name(member: str) -> str:
    """A member name as Step Functions presents it (PascalCase)."""
    return member[:1].upper() + member[1:]


def members(shape: StructureShape) -> dict[str, Shape]:
    return {sfn_name(name): member for name, member in shape.members.items()}


# --- example values -----------------------------------------------------------------------------
def _example(shape: Shape, depth: int = 0) -> object:
    kind = shape.type_name
    if kind == "structure":
        required = set(shape.required_members)
        return {sfn_name(n): _example(m, depth + 1) for n, m in shape.members.items()
                if n in required and depth < 6}
    if kind == "list":
        return [_example(shape.member, depth + 1)] if shape.metadata.get("min") else []
    if kind == "map":
        return {}
    if kind == "string":
        return (shape.enum or [f"example-{shape.name.lower()}"])[0]
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1.0))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return "2026-11-23T12:00:00.000Z"
    return ""


# shape id -> (shape, its example, its member names): built once per shape. Documents are never
# changed in place (tests/contract/asl.py), so every output may share the nested values.
_EXAMPLES: dict[int, tuple[Shape, dict, tuple[str, ...]]] = {}


def example_output(shape: Shape | None, request: dict) -> dict:
    """Required members typed, plus every member the request also names, echoed."""
    if not isinstance(shape, StructureShape):
        return {}
    entry = _EXAMPLES.get(id(shape))
    if entry is None or entry[0] is not shape:
        entry = (shape, _example(shape), tuple(members(shape)))
        _EXAMPLES[id(shape)] = entry
    out = dict(entry[1])
    for name in entry[2]:
        if name in request:
            out[name] = request[name]
    return out


# --- outcomes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    error: str
    cause: str


# (request, world) -> fields to set on the example output, or a Failure. `world` maps an
# operation name to the last request of it in this walk ("what was created so far"), and "$$" to
# the execution's context object.
Outcome = Callable[[dict, dict], "dict | Failure"]
FAILURE = Failure("States.TaskFailed", "an emulated failure of this task")

# A throttled call, as each integration reports it: optimized integrations under the AWS SDK
# for Java 1.x base exception with the code in the cause, aws-sdk ones under the 2.x base
# exception with only the message and status (ml_constructs/api_retries.py cites the sources).
# Keyed (optimized or aws-sdk, botocore service); every Task of these is also walked throttled.
_ID = "Request ID: 0e2d9b7a-6f5c-4d3b-8a1e-2f3c4d5e6a7b"
THROTTLED: dict[tuple[str, str], Failure] = {
    ("optimized", "sagemaker"): Failure(
        "SageMaker.AmazonSageMakerException", "Rate exceeded (Service: AmazonSageMaker; "
        f"Status Code: 400; Error Code: ThrottlingException; {_ID})"),
    ("optimized", "glue"): Failure(
        "Glue.AWSGlueException", "Rate exceeded (Service: AWSGlue; Status Code: 400; "
        f"Error Code: ThrottlingException; {_ID})"),
    ("optimized", "sns"): Failure(
        "SNS.AmazonSNSException",
        f"Rate exceeded (Service: AmazonSNS; Status Code: 400; Error Code: Throttling; {_ID})"),
    ("aws-sdk", "sagemaker"): Failure(
        "SageMaker.SageMakerException",
        f"Rate exceeded (Service: SageMaker, Status Code: 400, {_ID})"),
    ("aws-sdk", "s3"): Failure(
        "S3.S3Exception", f"Please reduce your request rate. (Service: S3, Status Code: 503, "
        f"{_ID}, Extended Request ID: a2V5)"),
    ("aws-sdk", "application-autoscaling"): Failure(
        "ApplicationAutoScaling.ApplicationAutoScalingException",
        f"Rate exceeded (Service: ApplicationAutoScaling, Status Code: 400, {_ID})"),
    ("aws-sdk", "stepfunctions"): Failure(
        "Sfn.SfnException", f"Rate exceeded (Service: Sfn, Status Code: 400, {_ID})"),
    ("aws-sdk", "cloudwatch"): Failure(
        "CloudWatch.CloudWatchException",
        f"Rate exceeded (Service: CloudWatch, Status Code: 400, {_ID})"),
}


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _sm(resource: str, name: str) -> str:
    return _arn("sagemaker", f"{resource}/{name.lower()}")


def _processing(req: dict, world: dict) -> dict:
    return {"ProcessingJobArn": _sm("processing-job", req["ProcessingJobName"]),
            "ProcessingJobStatus": "Completed"}


def _training(req: dict, world: dict) -> dict:
    name = req["TrainingJobName"]
    path = req["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    return {"TrainingJobArn": _sm("training-job", name), "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": f"{path}/{name}/output/model.tar.gz"}}


def _tuning(req: dict, world: dict) -> dict:
    name = req["HyperParameterTuningJobName"]
    # SageMaker names a tuning job's training jobs '<tuning job>-<NNN>-<8 hex>'.
    best = {"TrainingJobName": f"{name}-003-1a2b3c4d", "TrainingJobStatus": "Completed",
            "CreationTime": "2026-11-23T12:00:00.000Z",
            "TunedHyperParameters": {"eta": "0.1"}}
    return {"HyperParameterTuningJobArn": _sm("hyper-parameter-tuning-job", name),
            "HyperParameterTuningJobStatus": "Completed", "BestTrainingJob": best}


def _rule_statuses(status: str) -> Outcome:
    """DescribeTrainingJob of a training job with Debugger rules (its CreateTrainingJob request
    in `world`), every rule `status`; of a tuning job's best trial (no rules) otherwise."""
    def outcome(req: dict, world: dict) -> dict | None:
        created = world.get("CreateTrainingJob")
        if created is None or "CreateHyperParameterTuningJob" in world:
            return _best_training_job(req, world) if status == "NoIssuesFound" else None
        return _training(created, world) | {
            member.replace("Configurations", "EvaluationStatuses"): [
                {"RuleConfigurationName": rule["RuleConfigurationName"],
                 "RuleEvaluationStatus": status} for rule in created[member]]
            for member in ("DebugRuleConfigurations", "ProfilerRuleConfigurations")
            if member in created}
    return outcome


def _best_training_job(req: dict, world: dict) -> dict:
    definition = world["CreateHyperParameterTuningJob"]["TrainingJobDefinition"]
    return _training({**req, "OutputDataConfig": definition["OutputDataConfig"]}, world) | {
        "HyperParameters": {**definition.get("StaticHyperParameters", {}), "eta": "0.1"}}


def _transform(req: dict, world: dict) -> dict:
    return {"TransformJobArn": _sm("transform-job", req["TransformJobName"]),
            "TransformJobStatus": "Completed"}


# What SageMaker writes as the FailureReason of a job it could not provision, and of a job whose
# script failed; Step Functions fails a `.sync` task with the job's Describe* output as cause.
NO_CAPACITY = ("CapacityError: Unable to provision requested ML compute capacity. Please retry "
               "using a different ML instance type.")
SCRIPT_FAILED = "AlgorithmError: training failed: unknown hyperparameter 'max_depht'"


def _job_failed(status_key: str, reason: str) -> Outcome:
    """A `.sync` job that was created and then failed (ml_constructs/job_retries.py reads the
    reason: a transient one is retried as a new job, any other goes to the failure path)."""
    # The cause names the job, its status and reason (the Describe* output holds more).
    return lambda req, world: Failure("States.TaskFailed", json.dumps(
        {**{k: v for k, v in req.items() if k.endswith("JobName")}, status_key: "Failed",
         "FailureReason": reason}))


def _job(succeeded: Outcome, status_key: str) -> list[Outcome]:
    return [succeeded, _job_failed(status_key, NO_CAPACITY),
            _job_failed(status_key, SCRIPT_FAILED)]


# The metrics a batch run's scoring publishes for an accuracy monitor (the manifests' own).
ACCURACY_METRICS = sorted({m.accuracy_monitor.metric for m in map(load_manifest,
                                                                 available_use_cases())
                           if m.accuracy_monitor is not None})


def _evaluation(passed: bool) -> Outcome:
    """evaluation.json as the evaluation job writes it: the use case's metrics (those the first
    state's `platform` names; a batch run's scoring names none) and the gate's verdict."""
    def outcome(req: dict, world: dict) -> dict:
        platform = world.get("Invoke", {}).get("Payload", {}).get("platform", {})
        names = [m["name"] for m in platform.get("gate_metrics", [])] or ["score"]
        metrics = {m: 0.95 if passed else 0.5 for m in [*names, *ACCURACY_METRICS]}
        gate = {"passed": passed, "failed": "" if passed else f"{names[0]} 0.5000 is not >= 0.6",
                "conditions": [{"metric": names[0], "comparison": ">=", "threshold": 0.6,
                                "value": metrics[names[0]], "passed": passed}]}
        document = {"metrics": metrics, "quality_gate": gate}
        if req.get("Key", "").endswith(contract.TRAINING_RULES_FILE):  # the rule job's verdict
            document = {"statuses": [{"RuleConfigurationName": "Overfit",
                                      "RuleEvaluationStatus": "NoIssuesFound" if passed
                                      else "IssuesFound"}], "profiler": [],
                        "issues_found": not passed, "curve_steps": 70,
                        "summary": "no issues found" if passed else "Overfit: IssuesFound"}
        if req.get("Key", "").endswith(contract.CV_EVALUATION_FILE):
            # The aggregate job's: statistics per metric, the means, and the package metadata
            # its own code writes (the requests then carry what the job would give them).
            summary = {m: summarise([v - 0.01234567891, v, v + 0.0098765432]) for m, v in
                       metrics.items()}
            document = {"metrics": summary, "metrics_mean": metrics, "quality_gate": gate,
                        "registry_metadata": registry_metadata(summary)}
        return {"Body": json.dumps(document), "ContentLength": 100}
    return outcome


def _read(passed: bool, profile_rows: int | None) -> Outcome:
    """An S3 object the definitions read: a data profile (runtime_scripts/common/resampling/
    data_profile.py) whose smallest class has `profile_rows` rows (None: there is none yet, S3's
    NoSuchKey; so for a backtest's time profile), else an evaluation (`_evaluation`); None
    skips the outcome for the other kind."""
    evaluation = _evaluation(passed)

    def outcome(req: dict, world: dict) -> object:
        # A backtest's time profile: there, or not yet (its first run profiles the data).
        if req["Key"].endswith(contract.TIME_PROFILE_FILE) and profile_rows is None:
            return Failure("S3.NoSuchKeyException", "The specified key does not exist.")
        if not req["Key"].endswith(contract.DATA_PROFILE_FILE):
            return evaluation(req, world) if profile_rows is not None else None
        if profile_rows is None:
            return Failure("S3.NoSuchKeyException", "The specified key does not exist.")
        return {"Body": json.dumps({"rows": 4500, "minority_count": profile_rows}),
                "ContentLength": 60}
    return outcome


# A Data Wrangler flow (`.flow` under the use case's flows prefix): S3 source -> a cast whose
# schema holds the use case's dataset spec columns -> an S3 destination, output FLOW_OUTPUT.
FLOW_OUTPUT = "dw-destination.default"


def _flow_or(outcome: Outcome, *, first: bool = False) -> Outcome:
    """`outcome`, or for a `.flow` key the flow (from the `first` of the forks only: one
    outcome, the rest skipped)."""
    def either(req: dict, world: dict) -> dict | None:
        if not req.get("Key", "").endswith(".flow"):
            return outcome(req, world)
        if not first:
            return None
        spec = world.get("Invoke", {}).get("Payload", {}).get("platform", {}).get(
            "dataset_spec_columns", {"target": "y", "id_columns": [], "features": ["x"]})
        columns = [spec["target"], *spec["id_columns"], *spec["features"]]
        edge = [{"name": "default", "node_id": "dw-cast", "output_name": "default"}]
        nodes = [
            {"node_id": "dw-source", "type": "SOURCE", "operator": "sagemaker.s3_source_0.1",
             "parameters": {"dataset_definition": {"datasetSourceType": "S3", "name": "data",
                                                   "s3ExecutionContext": {"s3Uri": "s3://x/"}}},
             "inputs": [], "outputs": [{"name": "default"}]},
            {"node_id": "dw-cast", "type": "TRANSFORM",
             "operator": "sagemaker.spark.infer_and_cast_type_0.1", "parameters": {},
             "trained_parameters": {"schema": {c: "string" for c in columns}},
             "inputs": [{**edge[0], "node_id": "dw-source"}], "outputs": [{"name": "default"}]},
            {"node_id": "dw-destination", "type": "DESTINATION",
             "operator": "sagemaker.spark.s3_destination_0.1", "parameters": {},
             "inputs": edge, "outputs": [{"name": "default"}]}]
        body = json.dumps({"metadata": {"version": 1}, "nodes": nodes})
        return {"Body": body, "ContentLength": len(body)}
    return either


def _package(group: str, version: int = 3) -> str:
    return _sm("model-package", f"{group}/{version}")


def _latest(found: bool) -> Outcome:
    return lambda req, world: {"ModelPackageSummaryList": [{
        "ModelPackageGroupName": req["ModelPackageGroupName"], "ModelPackageVersion": 3,
        "ModelPackageArn": _package(req["ModelPackageGroupName"]),
        "CreationTime": "2026-11-23T12:00:00.000Z", "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved"}] if found else []}


def _described_package(status: str, from_training_run: bool) -> Outcome:
    def outcome(req: dict, world: dict) -> dict:
        arn = req["ModelPackageName"]
        group = arn.split("model-package/")[-1].split("/")[0] if "/" in arn else arn
        # The training pipeline registered it: its model is in the stage's artifacts bucket.
        platform = world.get("Invoke", {}).get("Payload", {}).get("platform", {})
        bucket = platform.get("artifacts_bucket", "artifacts-bucket")
        run = f"s3://{bucket}/runs/{platform.get('use_case', 'churn')}/june-retrain/"
        out = {"ModelPackageName": group, "ModelPackageArn": arn, "ModelApprovalStatus": status,
               "ModelPackageStatus": "Completed", "ModelPackageGroupName": group,
               "InferenceSpecification": {"Containers": [{
                   "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/image:tag",
                   "ModelDataUrl": f"{run}training/mlplatform-train-june-retrain/output/"
                                   "model.tar.gz"}],
                   "SupportedContentTypes": ["text/csv"],
                   "SupportedResponseMIMETypes": ["text/csv"]}}
        if from_training_run:
            # What the training pipeline's `Register model package` writes.
            out["CustomerMetadataProperties"] = {"execution": "june-retrain",
                                                 "run": run,
                                                 "training_job": "mlplatform-train-june-retrain",
                                                 "data": "s3://raw-bucket/churn/",
                                                 "quality_gate": "auc at least 0.85"}
        return out
    return outcome


def _endpoint(status: str, *, new_config: bool, reason: bool = False) -> Outcome:
    def outcome(req: dict, world: dict) -> dict:
        created = world.get("CreateEndpointConfig", {}).get("EndpointConfigName")
        config = created if new_config and created else "previous-endpoint-config"
        out = {"EndpointName": req["EndpointName"],
               "EndpointArn": _sm("endpoint", req["EndpointName"]),
               "EndpointConfigName": config, "EndpointStatus": status}
        if reason:
            out["FailureReason"] = "the AllTraffic variant's 5xx alarm went into ALARM"
        return out
    return outcome


# DescribeEndpoint's ValidationException, which SageMaker's model does not define: the aws-sdk
# integration reports it under the SDK's base exception, with the message and status as cause.
_MISSING_ENDPOINT = Failure("SageMaker.SageMakerException",
                            'Could not find endpoint "arn:aws:sagemaker:eu-west-1:123456789012:'
                            'endpoint/mlplatform-dev-churn". (Service: SageMaker, Status Code: '
                            '400, Request ID: 5d1f0c7e-5e3a-4c1d-9f2a-1a2b3c4d5e6f)')


def _scalable_targets(found: bool) -> Outcome:
    return lambda req, world: {"ScalableTargets": [{
        "ServiceNamespace": "sagemaker", "ResourceId": req["ResourceIds"][0],
        "ScalableDimension": req["ScalableDimension"], "MinCapacity": 1, "MaxCapacity": 4,
        "RoleARN": _arn("iam", "role/aws-service-role/sagemaker.application-autoscaling"),
        "CreationTime": "2026-11-23T12:00:00.000Z"}] if found else []}


def _schedules(found: bool) -> Outcome:
    return lambda req, world: {"MonitoringScheduleSummaries": [{
        "MonitoringScheduleName": req.get("NameContains", "schedule"),
        "MonitoringScheduleArn": _sm("monitoring-schedule", req.get("NameContains", "s")),
        "CreationTime": "2026-11-23T12:00:00.000Z", "LastModifiedTime": "2026-11-23T12:00:00Z",
        "MonitoringScheduleStatus": "Scheduled"}] if found else []}


def _executions(count: str) -> Outcome:
    """`this`: only the calling execution runs; `older`: another, older one runs too (listed
    last: ListExecutions sorts newest first); `none`: nothing runs."""
    def outcome(req: dict, world: dict) -> dict:
        machine = req["StateMachineArn"]
        ours = world["$$"]["Execution"]["Id"]
        other = {"ExecutionArn": f"{machine.replace(':stateMachine:', ':execution:')}:older",
                 "StateMachineArn": machine, "Name": "older", "Status": "RUNNING",
                 "StartDate": "2026-11-23T11:00:00.000Z"}
        mine = {**other, "ExecutionArn": ours, "Name": ours.rsplit(":", 1)[-1]}
        listed = {"this": [mine], "older": [mine, other], "none": [], "one": [other]}[count]
        return {"Executions": listed}
    return outcome


# Autopilot's images are AWS's (another account); the model data under the job's output path.
AUTOPILOT_IMAGE = ("492215442770.dkr.ecr.eu-west-1.amazonaws.com/"
                   "sagemaker-sklearn-automl:2.5-1-cpu-py3")


def _automl_job(status: str) -> Outcome:
    """DescribeAutoMLJobV2: still running, ended without a candidate, or done with its best
    candidate (three containers: a tuned classifier's, the most any variant reads)."""
    def outcome(req: dict, world: dict) -> dict:
        created = world["CreateAutoMLJobV2"]
        out = {"AutoMLJobName": req["AutoMLJobName"],
               "AutoMLJobArn": _sm("automl-job", req["AutoMLJobName"]),
               "AutoMLJobStatus": status,
               "AutoMLJobSecondaryStatus": {"Completed": "Completed", "Failed": "Failed",
                                            "Stopped": "Stopped"}.get(status, "TrainingModels")}
        if status == "Failed":
            out["FailureReason"] = "ClientError: the training data has fewer than 500 rows"
        if status == "Completed":
            name = f"{req['AutoMLJobName']}-trial-1"
            data = f"{created['OutputDataConfig']['S3OutputPath']}{req['AutoMLJobName']}/"
            out["BestCandidate"] = {
                "CandidateName": name, "ObjectiveStatus": "Succeeded",
                "CandidateStatus": "Completed", "CandidateSteps": [],
                "FinalAutoMLJobObjectiveMetric": {"MetricName": "F1", "Value": 0.87,
                                                  "Type": "Maximize"},
                "InferenceContainers": [
                    {"Image": AUTOPILOT_IMAGE, "ModelDataUrl": f"{data}{step}/model.tar.gz",
                     "Environment": {"AUTOML_TRANSFORM_MODE": "feature-transform"}}
                    for step in ("dpp", "algo", "labels")]}
        return out
    return outcome


def _arn_of(field: str, resource: str, name_key: str) -> Outcome:
    return lambda req, world: {field: _sm(resource, req[name_key])}


# (service, operation) -> the ways it can come out; the first is the default path.
OUTCOMES: dict[tuple[str, str], list[Outcome]] = {
    ("sagemaker", "CreateProcessingJob"): _job(_processing, "ProcessingJobStatus"),
    ("sagemaker", "CreateTrainingJob"): _job(_training, "TrainingJobStatus"),
    ("sagemaker", "CreateHyperParameterTuningJob"): _job(_tuning,
                                                         "HyperParameterTuningJobStatus"),
    ("sagemaker", "DescribeTrainingJob"): [_rule_statuses("NoIssuesFound"),
                                           _rule_statuses("InProgress")],
    ("sagemaker", "CreateTransformJob"): _job(_transform, "TransformJobStatus"),
    ("sagemaker", "CreateModel"): [_arn_of("ModelArn", "model", "ModelName")],
    ("sagemaker", "CreateAutoMLJobV2"): [_arn_of("AutoMLJobArn", "automl-job", "AutoMLJobName")],
    ("sagemaker", "DescribeAutoMLJobV2"): [_automl_job("Completed"), _automl_job("InProgress"),
                                          _automl_job("Failed"), _automl_job("Stopped")],
    ("sagemaker", "CreateModelPackage"): [
        lambda req, world: {"ModelPackageArn": _package(req["ModelPackageGroupName"], 1)}],
    ("sagemaker", "ListModelPackages"): [_latest(True), _latest(False)],
    ("sagemaker", "DescribeModelPackage"): [
        _described_package("Approved", True), _described_package("Approved", False),
        _described_package("PendingManualApproval", True)],
    ("sagemaker", "CreateEndpointConfig"): [
        _arn_of("EndpointConfigArn", "endpoint-config", "EndpointConfigName")],
    ("sagemaker", "DescribeEndpoint"): [
        _endpoint("InService", new_config=True),
        lambda req, world: _MISSING_ENDPOINT,
        _endpoint("InService", new_config=False, reason=True),
        _endpoint("InService", new_config=False),
        _endpoint("Failed", new_config=True, reason=True),
        _endpoint("Failed", new_config=True),
        _endpoint("Updating", new_config=True)],
    ("sagemaker", "CreateEndpoint"): [_arn_of("EndpointArn", "endpoint", "EndpointName")],
    ("sagemaker", "UpdateEndpoint"): [_arn_of("EndpointArn", "endpoint", "EndpointName")],
    ("sagemaker", "ListMonitoringSchedules"): [_schedules(True), _schedules(False)],
    ("sagemaker", "CreateMonitoringSchedule"): [
        _arn_of("MonitoringScheduleArn", "monitoring-schedule", "MonitoringScheduleName")],
    ("sagemaker", "UpdateMonitoringSchedule"): [
        _arn_of("MonitoringScheduleArn", "monitoring-schedule", "MonitoringScheduleName")],
    ("application-autoscaling", "DescribeScalableTargets"): [
        _scalable_targets(True), _scalable_targets(False)],
    ("application-autoscaling", "PutScalingPolicy"): [
        lambda req, world: {"PolicyARN": _arn("autoscaling", f"scalingPolicy:{req['PolicyName']}"),
                            "Alarms": []}],
    ("s3", "GetObject"): [_flow_or(_read(True, 1000), first=True),
                          _flow_or(_read(False, 2)), _flow_or(_read(True, None))],
    ("s3", "CopyObject"): [lambda req, world: {"CopyObjectResult": {"ETag": '"0a1b"'}}],
    ("sns", "Publish"): [lambda req, world: {"MessageId": "6b1f0c7e-5e3a-4c1d-9f2a-1a2b3c4d5e6f"}],
    ("glue", "StartJobRun"): [
        lambda req, world: {"Id": "jr_0123456789abcdef", "JobName": req["JobName"],
                            "JobRunState": "SUCCEEDED"}],
    ("stepfunctions", "ListExecutions"): [
        _executions("this"), _executions("older"), _executions("none"), _executions("one")],
    ("stepfunctions", "StartExecution"): [
        lambda req, world: {"ExecutionArn": req["StateMachineArn"].replace(
            ":stateMachine:", ":execution:") + ":" + req.get("Name", "generated"),
            "StartDate": "2026-11-23T12:00:00.000Z"}],
}
