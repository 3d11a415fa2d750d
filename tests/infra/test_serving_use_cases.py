"""Two use cases served side by side in one stage (tests/conftest.py `two_use_cases`: churn, and
ames with model quality monitoring): each gets its own deployment state machine, endpoint, Model
Monitor job definitions and schedules, alarms, approval and retraining rules, every name unique
and within its service's limit (botocore's models say the limits); the request contract holds for
both (cdk-nag, cfn-lint and the ASL validator run over this variant with every other's)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import botocore.session
import pytest

from config import RESOURCE_PREFIX_MAX
from ml_constructs.physical_names import DIGEST_LENGTH
from ml_constructs.serving_defaults import ServingNames
from runtime_scripts.common.manifest import USE_CASE_NAME_MAX
from runtime_scripts.pipeline_input.deployment import DEPLOYMENT_PREFIX_MAX
from tests.conftest import SECOND_USE_CASE
from tests.contract.rendering import render
from tests.contract.shapes import request_problems

ROOT = Path(__file__).resolve().parents[2]
USE_CASES = ("churn", SECOND_USE_CASE)
_SESSION = botocore.session.get_session()


def name_limit(service: str, operation: str, member: str) -> int:
    """The longest value botocore's model allows for `member` of `operation`'s input."""
    shape = _SESSION.get_service_model(service).operation_model(operation).input_shape
    return shape.members[member].metadata["max"]


LIMITS = {
    "endpoint": name_limit("sagemaker", "CreateEndpoint", "EndpointName"),
    "state machine": name_limit("stepfunctions", "CreateStateMachine", "name"),
    "alarm": name_limit("cloudwatch", "PutMetricAlarm", "AlarmName"),
    "schedule": name_limit("sagemaker", "CreateMonitoringSchedule", "MonitoringScheduleName"),
    "job definition": name_limit("sagemaker", "CreateDataQualityJobDefinition",
                                 "JobDefinitionName"),
}


@pytest.fixture(scope="module")
def template(two_use_cases) -> dict:
    return json.loads((two_use_cases.outdir / "Serving.template.json").read_text())


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


@pytest.fixture(scope="module")
def deployed(two_use_cases) -> dict[str, dict]:
    from local_runner.assembly import read_stacks
    from local_runner.definitions import state_machines
    from local_runner.emulated_account import named_account

    stacks = read_stacks(two_use_cases.outdir)
    values = named_account(stacks, region=two_use_cases.config.region).substitutions
    return {d.name: d.asl for d in state_machines(stacks, values)}


def named(resources: dict, kind: str, prop: str) -> list[str]:
    return [r["Properties"][prop] for r in resources.values() if r["Type"] == kind]


def tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


# --- names ---------------------------------------------------------------------------------------
def test_every_serving_name_is_unique_and_within_its_limit(resources, deployed):
    found = {
        "endpoint": [d["States"]["Validate input"]["Parameters"]["platform"]["endpoint_name"]
                     for n, d in deployed.items() if n.endswith("-deployment")],
        "state machine": named(resources, "AWS::StepFunctions::StateMachine",
                               "StateMachineName"),
        "alarm": named(resources, "AWS::CloudWatch::Alarm", "AlarmName"),
        "schedule": [s["Parameters"]["MonitoringScheduleName"] for d in deployed.values()
                     for name, s in d["States"].items() if name.startswith("Create ")
                     and name.endswith(" schedule")],
        "job definition": named(resources, "AWS::SageMaker::DataQualityJobDefinition",
                                "JobDefinitionName")
        + named(resources, "AWS::SageMaker::ModelQualityJobDefinition", "JobDefinitionName"),
    }
    assert sorted(found["endpoint"]) == sorted(f"mlplatform-dev-{u}" for u in USE_CASES)
    assert sorted(found["state machine"]) == sorted(
        f"mlplatform-dev-{u}-{p}" for u in USE_CASES for p in ("deployment", "retraining-gate"))
    assert len(found["schedule"]) == 3  # both data quality, the second's model quality
    for kind, names in found.items():
        assert [n for n, count in Counter(names).items() if count > 1] == [], kind
        assert all(len(n) <= LIMITS[kind] for n in names), (kind, names)
        for name in names:  # each belongs to exactly one use case: '<prefix>-<use case>[-...]'
            owners = [u for u in USE_CASES if name == f"mlplatform-dev-{u}"
                      or name.startswith(f"mlplatform-dev-{u}-")]
            assert len(owners) == 1, (kind, name)


def test_the_longest_stage_prefix_and_use_case_name_still_fit_every_limit():
    """Names are not shortened: the stage prefix and use case name limits keep them short
    enough for every service, the job definition's digest included."""
    names = ServingNames(stage_prefix="p" * RESOURCE_PREFIX_MAX, use_case="u" * USE_CASE_NAME_MAX)
    assert len(names.endpoint) <= LIMITS["endpoint"]
    for pipeline in ("deployment", "retraining-gate", "training"):
        assert len(names.state_machine(pipeline)) <= LIMITS["state machine"]
    for alarm in (*names.rollback_alarms, names.alarm("endpoint-memory"),
                  names.alarm("data-drift"), names.alarm("model-quality")):
        assert len(alarm) <= LIMITS["alarm"]
    for kind in ("data-quality", "model-quality"):
        assert len(names.monitoring(kind)) <= LIMITS["schedule"]
        assert len(names.monitoring(kind)) + 1 + DIGEST_LENGTH <= LIMITS["job definition"]
    # The deployment input accepts the prefix its job, model and endpoint config names use.
    assert len(names.prefix) <= DEPLOYMENT_PREFIX_MAX


# --- side by side --------------------------------------------------------------------------------
@pytest.mark.parametrize("use_case", USE_CASES)
def test_each_use_case_has_its_own_deployment(use_case, resources, deployed):
    prefix = f"mlplatform-dev-{use_case}"
    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"
                  and r["Properties"]["StateMachineName"] == f"{prefix}-deployment"]
    assert {"use-case": use_case, "pipeline": "deployment"}.items() <= tags(machine).items()
    states = deployed[f"{prefix}-deployment"]["States"]
    platform = states["Validate input"]["Parameters"]["platform"]
    assert (platform["endpoint_name"], platform["resource_prefix"]) == (prefix, prefix)
    update = states["Update endpoint"]["Parameters"]["DeploymentConfig"]
    assert [a["AlarmName"] for a in update["AutoRollbackConfiguration"]["Alarms"]] == [
        f"{prefix}-endpoint-5xx-errors", f"{prefix}-endpoint-latency-p99"]
    create = states["Create data quality schedule"]["Parameters"]
    assert create["MonitoringScheduleName"] == f"{prefix}-data-quality"
    (definition,) = [r for r in resources.values()
                     if r["Type"] == "AWS::SageMaker::DataQualityJobDefinition"
                     and r["Properties"]["JobDefinitionName"] ==
                     create["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]]
    assert definition["Properties"]["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == \
        prefix
    assert f"/baselines/{prefix}/data-quality/current/statistics.json" in json.dumps(
        definition["Properties"]["DataQualityBaselineConfig"])
    promotions = [s for n, s in states.items()
                  if n.startswith("Promote baseline") and s["Type"] == "Task"]
    assert sorted(s["Parameters"]["Key.$"] for s in promotions) == [
        f"$.run.s3.baseline_promotions[{i}].key" for i in range(2)]  # rendered: the contract
    gate = deployed[f"{prefix}-retraining-gate"]["States"]
    assert gate["List running gates"]["Parameters"]["StateMachineArn"].endswith(
        f":stateMachine:{prefix}-retraining-gate")


def test_alarms_rules_and_thresholds_are_each_use_cases_own(resources):
    alarms = {r["Properties"]["AlarmName"]: (logical_id, r["Properties"])
              for logical_id, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms["mlplatform-dev-churn-data-drift"][1]["Threshold"] == 0.2
    second = f"mlplatform-dev-{SECOND_USE_CASE}"
    assert alarms[f"{second}-data-drift"][1]["Threshold"] == 0.3
    assert alarms[f"{second}-data-drift"][1]["Dimensions"] == [
        {"Name": "Endpoint", "Value": second},
        {"Name": "MonitoringSchedule", "Value": f"{second}-data-quality"}]
    assert f"{second}-model-quality" in alarms
    assert "mlplatform-dev-churn-model-quality" not in alarms
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    retraining = [r for r in rules if r["EventPattern"]["source"] == ["aws.cloudwatch"]]
    by_alarm = {alarm_id: rule for rule in retraining
                for alarm_id in (ref["Fn::GetAtt"][0] for ref in rule["EventPattern"]["resources"])}
    churn_rule = by_alarm[alarms["mlplatform-dev-churn-data-drift"][0]]
    second_rule = by_alarm[alarms[f"{second}-data-drift"][0]]
    assert churn_rule is not second_rule
    assert by_alarm[alarms[f"{second}-model-quality"][0]] is second_rule
    approvals = [r for r in rules if r["EventPattern"]["source"] == ["aws.sagemaker"]]
    assert len(approvals) == 2  # one per use case, each starting its own deployment
    assert len({json.dumps(r["Targets"][0]["Arn"]) for r in approvals}) == 2


def test_each_deployment_may_touch_only_its_own_use_cases_resources(resources):
    """Models, endpoint configs, schedules and baselines: scoped to the use case's prefix."""
    for use_case, other in ((USE_CASES[0], USE_CASES[1]), (USE_CASES[1], USE_CASES[0])):
        policies = [json.dumps(r["Properties"]["PolicyDocument"]) for logical_id, r in
                    resources.items() if r["Type"] == "AWS::IAM::Policy"
                    and logical_id.startswith(f"{use_case}Deployment")]
        assert policies, use_case
        text = " ".join(policies)
        assert f"endpoint-config/mlplatform-dev-{use_case}-*" in text
        assert f"mlplatform-dev-{other}-" not in text


# --- the request contract over both deployments ------------------------------------------------
# (cdk-nag, cfn-lint and the ASL validator hold for this variant as for every other:
# tests/infra/test_compliance.py and test_definitions.py run over each synth variant.)
def test_every_serving_request_of_both_holds_to_its_botocore_shape(deployed):
    """The request contract (tests/contract) over both use cases' serving state machines: every
    state reached over the deployment scenarios, every request valid for its operation."""
    serving = {n: d for n, d in deployed.items()
               if n.endswith(("-deployment", "-retraining-gate"))}
    assert len(serving) == 4
    rendering = render("two-use-cases", serving)
    problems = [f"{t.state_machine} / {t.state} [{t.scenario}]: {p}" for t in rendering.tasks
                for p in request_problems(t.service, t.operation, t.request)]
    assert problems == [], "\n".join(problems)
    for machine, definition in serving.items():
        assert set(definition["States"]) - rendering.reached[machine] == set(), machine
        assert {t.state_machine for t in rendering.tasks} >= {machine}
    verdicts = {(m, s): v for (m, s), v in rendering.verdicts.items() if m.endswith("deployment")}
    assert {m for m, _ in verdicts} == {f"mlplatform-dev-{u}-deployment" for u in USE_CASES}
    # Each promotes its baseline to where its own job definition reads it.
    for use_case in USE_CASES:
        keys = {t.request["Key"] for t in rendering.tasks if t.operation == "CopyObject"
                and t.state_machine == f"mlplatform-dev-{use_case}-deployment"}
        assert keys == {f"baselines/mlplatform-dev-{use_case}/data-quality/current/{f}"
                        for f in ("constraints.json", "statistics.json")}, use_case


def test_a_model_quality_monitor_may_read_its_ground_truth_and_nothing_beside_it(resources):
    """The serving role reads the configured ground truth prefix (the monitoring job merges
    those labels with the captures), and only that prefix of that bucket."""
    statements = [s for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
                  for s in r["Properties"]["PolicyDocument"]["Statement"]
                  if "labels-bucket" in json.dumps(s.get("Resource"))]
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                     else s["Action"]))
    assert actions == ["s3:GetObject", "s3:ListBucket"]
    for statement in statements:
        if statement["Action"] == "s3:GetObject":
            assert "labels-bucket/ames/*" in json.dumps(statement["Resource"])
        else:
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["ames/*"]}}
