"""The synthesized deployment and retraining-gate state machines, executed locally: the endpoint
is the real inference server (runtime_scripts/bin/serve) on loopback, the rollback alarms are
CloudWatch alarms (moto) provisioned from the serving template, and the drift alarm reaches the
gate through the app's own EventBridge rule.

One emulated account for the module, in story order: drift starts a retraining (package 1), a
shallower training gives package 2, package 1 is deployed, a canary moves the endpoint to
package 2, and a deployment back to package 1 whose rollback alarm fires is rolled back.
Deployments run with `baseline.enabled` false: the data quality baseline is a processing job in
AWS's Model Monitor analyzer image, which has no local entry point (docs/serving.md).
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest

from local_runner.api_common import SageMakerError
from runtime_scripts.common.tabular import capture
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.local_runner.serving_helpers import (
    ENDPOINT,
    PREEXISTING,
    children,
    holdout,
    model_predictions,
    observe_shifts,
    scalable_targets,
    served_package,
    wait_for_state,
    what_is_served,
)

DRIFT_ALARM = "mlplatform-dev-churn-data-drift"
ROLLBACK_ALARM = "mlplatform-dev-churn-endpoint-5xx-errors"
NO_BASELINE = {"baseline": {"enabled": False}}
CANARY = {"traffic_routing": "CANARY", "step_type": "CAPACITY_PERCENT", "step_size": 50,
          "wait_interval_seconds": 60, "termination_wait_seconds": 30,
          "max_execution_timeout_seconds": 600}
# Another model that still passes dev's gate (20 stumps of depth 2 did not: recall 0.24).
SHALLOW = {"training": {"hyperparameters": {"max_depth": "2", "eta": "0.3"}}}

FIRST_DEPLOYMENT = ["Validate input", "Model package given?", "Use requested model package",
                    "Describe model package", "Model package approved?", "Create model",
                    "Create endpoint config", "Baseline dataset?", "Describe endpoint",
                    # A refused lookup: not transient (its cause), so it decides the creation.
                    "Describe endpoint: API error transient?", "Endpoint missing?",
                    "Create endpoint", "Wait for endpoint", "Check endpoint",
                    "Endpoint deployed?", "Register autoscaling", "Set scaling policy",
                    "Baseline computed?", "Notify success", "Endpoint serving the new model"]
UPDATE = ["Describe endpoint", "Endpoint status?", "Find scalable target",
          "Autoscaling registered?", "Suspend autoscaling", "Update endpoint",
          "Wait for endpoint", "Check endpoint", "Endpoint deployed?"]

@pytest.fixture(scope="module")
def platform(synthesized, tmp_path_factory):
    """conftest's account, plus the proof that closing it stops every endpoint server."""
    from local_runner.local_run import LocalPlatform

    PREEXISTING.update(children())
    with LocalPlatform(synthesized["dev"].outdir,
                       workdir=tmp_path_factory.mktemp("local-deploy")) as local:
        local.seed()
        yield local
    assert children() == set(), "an endpoint server outlived the platform"


@pytest.fixture(scope="module")
def retraining(platform):
    """The drift alarm fires twice while the first gate holds its lock."""
    first = platform.set_alarm_state(DRIFT_ALARM, "ALARM", "feature drift 0.41 > 0.2")
    gate = first[0].execution_arn
    wait_for_state(platform, gate, "Hold the retraining lock")
    quiet = platform.set_alarm_state(DRIFT_ALARM, "OK", "drift back under the threshold")
    again = platform.set_alarm_state(DRIFT_ALARM, "ALARM", "feature drift 0.44 > 0.2")
    skipped = platform.wait(again[0].execution_arn)
    trainings = platform.clients.sfn.list_executions(
        stateMachineArn=platform.state_machine_arn("training"))["executions"]
    training = platform.wait(next(e["executionArn"] for e in trainings
                                  if e["name"].startswith("drift-")))
    # AWS holds the lock min_hours_between_retraining; the module need not wait for it.
    platform.clients.sfn.stop_execution(executionArn=gate)
    return SimpleNamespace(first=first, gate=gate, quiet=quiet, again=again, skipped=skipped,
                           training=training, trainings=trainings)


@pytest.fixture(scope="module")
def packages(platform, retraining):
    """(the drift retraining's package, a shallower model's package): both Approved in dev."""
    shallow = platform.run("training", SHALLOW, name="shallow")
    assert shallow.status == "SUCCEEDED", shallow.cause
    return retraining.training.output["registered"]["arn"], shallow.output["registered"]["arn"]


# --- retraining --------------------------------------------------------------------------------
def test_drift_starts_one_retraining_and_a_second_alarm_within_the_lock_is_skipped(retraining):
    (delivery,) = retraining.first  # the churn use case's retraining rule, and only it
    assert delivery.rule.startswith("churnRetrainingOnAlarm")
    assert retraining.quiet == []  # the rule takes ALARM transitions only
    assert retraining.skipped.status == "SUCCEEDED", retraining.skipped.cause
    assert retraining.skipped.path[-2:] == ["Notify retraining skipped", "Rate-limited"]
    assert "Start training pipeline" not in retraining.skipped.path
    gate_name = retraining.gate.rsplit(":", 1)[-1]
    assert [e["name"] for e in retraining.trainings] == \
        [f"drift-{hashlib.md5(gate_name.encode()).hexdigest()}"]  # one, started by the first
    assert retraining.training.status == "SUCCEEDED", retraining.training.cause


def test_the_retrained_model_is_registered_with_the_alarm_that_caused_it(platform, retraining):
    arn = retraining.training.output["registered"]["arn"]
    package = platform.sagemaker.call("describeModelPackage", {"ModelPackageName": arn})
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ModelPackageDescription"].startswith(
        f"Retrained on the latest data after {DRIFT_ALARM} at ")


# --- deployment --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def first(platform, packages, tmp_path_factory):
    result = platform.run("deployment", {"model_package_arn": packages[0], **NO_BASELINE},
                          name="deploy-first")
    served, config = what_is_served(platform)
    expected = model_predictions(platform, packages[0], tmp_path_factory.mktemp("first"))
    return SimpleNamespace(result=result, served=served, config=config, expected=expected)


def test_a_first_deployment_creates_the_endpoint_serving_the_model(platform, packages, first):
    assert first.result.status == "SUCCEEDED", first.result.cause
    assert first.result.path == FIRST_DEPLOYMENT
    assert first.config == "mlplatform-dev-churn-epc-deploy-first"
    assert served_package(platform, first.config) == packages[0]
    np.testing.assert_allclose(first.served, first.expected, rtol=1e-5)
    described = platform.sagemaker.call("describeEndpoint", {"EndpointName": ENDPOINT})
    assert described["EndpointStatus"] == "InService"
    assert described["DataCaptureConfig"]["CurrentSamplingPercentage"] == 100  # dev
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in scalable_targets(platform)] == \
        [(1, 2)]  # dev's autoscaling range, registered after the endpoint came up


def test_requests_are_captured_as_sagemaker_writes_them(platform, first):
    """Data capture (input and output, 100 % in dev) in SageMaker's layout, read back with the
    parser Model Monitor's record preprocessor and the drift check use."""
    bucket = platform.account.output("MonitoringBucketName")
    keys = [o["Key"] for o in platform.clients.s3.list_objects_v2(
        Bucket=bucket, Prefix=f"datacapture/{ENDPOINT}/AllTraffic/")["Contents"]]
    assert keys and all(k.endswith(".jsonl") for k in keys)
    lines = platform.clients.s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read() \
        .decode().splitlines()
    rows, _ = holdout()
    features = DatasetSpec.load(CHURN.path(CHURN.dataset_spec)).feature_names
    assert capture.rows_from_lines(lines, features) == rows


@pytest.fixture(scope="module")
def canary(platform, packages, first):
    shifts = observe_shifts(platform)
    try:
        result = platform.run("deployment", {"model_package_arn": packages[1], **NO_BASELINE,
                                             "deployment": CANARY}, name="deploy-canary")
    finally:
        platform.sagemaker.endpoints.on_shift = None
    served, config = what_is_served(platform)
    return SimpleNamespace(result=result, shifts=shifts, served=served, config=config)


def test_a_canary_update_bakes_then_moves_all_traffic_to_the_new_model(platform, packages,
                                                                        first, canary):
    assert canary.result.status == "SUCCEEDED", canary.result.cause
    path = canary.result.path
    assert path[path.index("Describe endpoint"):path.index("Endpoint deployed?") + 1] == UPDATE
    old, new = first.config, "mlplatform-dev-churn-epc-deploy-canary"
    # Half the requests on the new fleet while the canary bakes, then all of them.
    assert canary.shifts == [(0.5, [old, new, old, new]), (1.0, [new] * 4)]
    assert canary.config == new
    assert served_package(platform, new) == packages[1]
    assert not np.allclose(canary.served, first.served)  # another model answers now
    described = platform.sagemaker.call("describeEndpoint", {"EndpointName": ENDPOINT})
    assert described["EndpointConfigName"] == new and "FailureReason" not in described
    assert len(scalable_targets(platform)) == 1  # suspended for the update, then re-registered


def test_the_replaced_fleet_is_stopped(platform, canary):
    servers = platform.sagemaker.endpoints.endpoints[ENDPOINT].fleet.servers.values()
    assert children() == {str(s.pid) for s in servers}


@pytest.fixture(scope="module")
def rolled_back(platform, packages, canary):
    platform.set_alarm_state(ROLLBACK_ALARM, "ALARM", "6 5xx responses a minute")
    shifts = observe_shifts(platform)
    try:
        result = platform.run("deployment", {"model_package_arn": packages[0], **NO_BASELINE,
                                             "deployment": CANARY}, name="deploy-back")
    finally:
        platform.sagemaker.endpoints.on_shift = None
        platform.set_alarm_state(ROLLBACK_ALARM, "OK", "recovered")
    served, config = what_is_served(platform)
    return SimpleNamespace(result=result, shifts=shifts, served=served, config=config)


def test_an_alarm_during_baking_rolls_back_and_the_old_model_keeps_serving(platform, packages,
                                                                            canary, rolled_back):
    result = rolled_back.result
    assert result.status == "FAILED"
    assert result.error == "DeploymentRolledBack"
    assert result.cause.startswith("deployment rolled back: ")
    assert ROLLBACK_ALARM in result.cause and "canary" in result.cause
    assert result.path[-8:] == ["Endpoint deployed?", "Autoscaling was suspended?",
                                "Restore autoscaling", "Restore scaling policy",
                                "Rollback reason given?", "Explain rollback", "Notify failure",
                                "Pipeline failed"]
    # The canary did reach the new fleet before the alarm was seen.
    new = "mlplatform-dev-churn-epc-deploy-back"
    assert rolled_back.shifts == [(0.5, [canary.config, new, canary.config, new])]
    described = platform.sagemaker.call("describeEndpoint", {"EndpointName": ENDPOINT})
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == canary.config
    assert ROLLBACK_ALARM in described["FailureReason"]
    # Still the old model: same answers as before the attempt, from package 2's artefact.
    assert rolled_back.config == canary.config
    assert served_package(platform, rolled_back.config) == packages[1]
    np.testing.assert_array_equal(rolled_back.served, canary.served)
    servers = platform.sagemaker.endpoints.endpoints[ENDPOINT].fleet.servers.values()
    assert children() == {str(s.pid) for s in servers}  # the new fleet was stopped


def test_a_rolled_back_deployment_leaves_autoscaling_as_it_was(platform, rolled_back):
    assert len(scalable_targets(platform)) == 1
    assert "Restore autoscaling" in rolled_back.result.path


# --- around the deployment ---------------------------------------------------------------------
def test_an_approval_event_starts_a_deployment_whose_baseline_needs_aws(platform, packages,
                                                                         rolled_back):
    """The app's approval rule passes the package to the deployment; its data quality baseline
    (AWS's analyzer image) cannot run locally, and fails before any traffic moves."""
    deliveries = platform.events.put_event(
        "aws.sagemaker", "SageMaker Model Package State Change",
        {"ModelPackageGroupName": "mlplatform-dev-churn", "ModelPackageArn": packages[0],
         "ModelApprovalStatus": "Approved"})
    assert len(deliveries) == 1
    result = platform.wait(deliveries[0].execution_arn)
    assert result.output is None and result.status == "FAILED"
    assert "Compute data quality baseline" in result.path
    assert "Describe endpoint" not in result.path
    assert "cannot be run locally" in result.cause
    assert what_is_served(platform)[1] == rolled_back.config


def test_monitoring_schedules_name_a_deployed_job_definition_and_endpoint(platform, first,
                                                                          dev):
    serving = json.loads((dev.outdir / "Serving.template.json").read_text())["Resources"]
    (job_definition,) = [r["Properties"]["JobDefinitionName"] for r in serving.values()
                         if r["Type"] == "AWS::SageMaker::DataQualityJobDefinition"]
    request = {"MonitoringScheduleName": "mlplatform-dev-churn-data-quality",
               "MonitoringScheduleConfig": {
                   "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                   "MonitoringJobDefinitionName": job_definition,
                   "MonitoringType": "DataQuality"}}
    platform.sagemaker.call("createMonitoringSchedule", request)
    listed = platform.sagemaker.call("listMonitoringSchedules", {
        "NameContains": "mlplatform-dev-churn-data-quality", "EndpointName": ENDPOINT})
    assert [s["MonitoringScheduleStatus"] for s in listed["MonitoringScheduleSummaries"]] == \
        ["Scheduled"]
    with pytest.raises(SageMakerError, match="Job definition nope does not exist"):
        platform.sagemaker.call("createMonitoringSchedule", {
            "MonitoringScheduleName": "other", "MonitoringScheduleConfig": {
                **request["MonitoringScheduleConfig"], "MonitoringJobDefinitionName": "nope"}})
