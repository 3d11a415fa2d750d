"""The serving stack: the deployment state machine's requests (endpoint config with KMS and data
capture, blue/green update with rollback alarms, autoscaling, monitoring schedules), rollback
detection, the alarms, Model Monitor job definitions, the EventBridge rules and their targets,
the retraining gate, IAM, ASL validity; and a serverless stage and a stage with ground truth."""

from __future__ import annotations

import dataclasses
import json

import pytest
from aws_cdk.assertions import Match, Template

from config import load_stage_config
from ml_constructs.runtime_image import builtin_image_uri
from ml_constructs.serving_alarms import DRIFT_SUMMARY_METRIC
from ml_constructs.serving_defaults import deployment_defaults
from tests.conftest import SERVERLESS

DEPLOYMENT = "mlplatform-dev-churn-deployment"
GATE = "mlplatform-dev-churn-retraining-gate"
ROLLBACK_ALARMS = ["mlplatform-dev-churn-endpoint-5xx-errors",
                   "mlplatform-dev-churn-endpoint-latency-p99"]


@pytest.fixture(scope="module")
def template(dev) -> Template:
    return Template.from_stack(dev.stack("Serving"))


@pytest.fixture(scope="module")
def deployment(definitions) -> dict:
    return definitions["dev"][DEPLOYMENT]


@pytest.fixture(scope="module")
def states(deployment) -> dict:
    return deployment["States"]


@pytest.fixture(scope="module")
def gate(definitions) -> dict:
    return definitions["dev"][GATE]


def synth_variant(tmp_path_factory, name: str, **sections):
    """The dev app with `sections` of its use case's config replaced: (app, serving template,
    ASL)."""
    from local_runner.assembly import read_stacks
    from local_runner.definitions import state_machines
    from stacks import platform_app

    dev = load_stage_config("dev")
    config = dataclasses.replace(dev, use_cases=[
        dataclasses.replace(dev.use_cases[0], **sections)])
    config.validate()
    outdir = tmp_path_factory.mktemp(f"cdk-out-{name}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(platform_app, "load_stage_config", lambda _stage: config)
        app, _ = platform_app.build_app("dev", outdir=str(outdir))
        app.synth()
    asl = {d.name: d.asl for d in state_machines(read_stacks(outdir))}
    return app, Template.from_stack(app.node.find_child("Serving")), asl[DEPLOYMENT]


@pytest.fixture(scope="module")
def serverless(synthesized, definitions):
    """The session's serverless variant of dev (tests/conftest.py): memory 3072 MB,
    concurrency 10, Model Monitor off."""
    stage = synthesized[SERVERLESS]
    deployment = next(asl for name, asl in definitions[SERVERLESS].items()
                      if name.endswith("-deployment"))
    return stage.app, Template.from_stack(stage.stack("Serving")), deployment


@pytest.fixture(scope="module")
def ground_truth(tmp_path_factory):
    churn = load_stage_config("dev").use_cases[0]
    return synth_variant(tmp_path_factory, "ground-truth", monitoring=dataclasses.replace(
        churn.monitoring, ground_truth_s3_uri="s3://mlplatform-dev-raw-123456789012/labels/"))


def tasks(asl: dict) -> dict[str, dict]:
    return {name: s for name, s in asl["States"].items() if s["Type"] == "Task"}


# --- the deployment state machine ----------------------------------------------------------------
def test_deployment_states_in_order(deployment, states):
    assert deployment["StartAt"] == "Validate input"
    path = ["Validate input", "Model package given?", "Find latest approved model package",
            "Approved package found?", "Use latest approved model package",
            "Describe model package", "Model package approved?", "Create model",
            "Create endpoint config", "Baseline dataset?"]
    for here, there in zip(path, path[1:], strict=False):
        state = states[here]
        nexts = {state.get("Next"), state.get("Default"),
                 *(c["Next"] for c in state.get("Choices", []))}
        assert there in nexts, f"{here} -> {there}"
    integrations = {
        "Describe model package": "aws-sdk:sagemaker:describeModelPackage",
        "Create model": "aws-sdk:sagemaker:createModel",
        "Create endpoint config": "aws-sdk:sagemaker:createEndpointConfig",
        "Compute data quality baseline": "sagemaker:createProcessingJob.sync",
        "Describe endpoint": "aws-sdk:sagemaker:describeEndpoint",
        "Create endpoint": "aws-sdk:sagemaker:createEndpoint",
        "Update endpoint": "aws-sdk:sagemaker:updateEndpoint",
        "Check endpoint": "aws-sdk:sagemaker:describeEndpoint",
        "Find scalable target": "aws-sdk:applicationautoscaling:describeScalableTargets",
        "Suspend autoscaling": "aws-sdk:applicationautoscaling:deregisterScalableTarget",
        "Register autoscaling": "aws-sdk:applicationautoscaling:registerScalableTarget",
        "Set scaling policy": "aws-sdk:applicationautoscaling:putScalingPolicy",
        "Promote baseline constraints": "aws-sdk:s3:copyObject",
        "Create data quality schedule": "aws-sdk:sagemaker:createMonitoringSchedule",
        "Update data quality schedule": "aws-sdk:sagemaker:updateMonitoringSchedule",
        "Notify success": "sns:publish",
    }
    for name, integration in integrations.items():
        assert states[name]["Resource"].endswith(f":states:::{integration}"), name
    assert not any("lambda" in s.get("Resource", "") for n, s in tasks(deployment).items()
                   if n != "Validate input"), "only the input validator may be a Lambda"
    assert "QueryLanguage" not in deployment  # JSONPath, which the local engine runs


def test_endpoint_config_has_kms_and_encrypted_input_output_capture(states):
    request = states["Create endpoint config"]["Parameters"]
    assert request["ProductionVariants.$"] == "$.endpoint.production_variants"
    assert request["KmsKeyId"]
    capture = request["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["KmsKeyId"] == request["KmsKeyId"]
    assert capture["InitialSamplingPercentage.$"] == "$.data_capture.sampling_percentage"
    assert capture["DestinationS3Uri.$"] == "$.run.s3.data_capture"
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    assert capture["CaptureContentTypeHeader"]["CsvContentTypes"] == ["text/csv"]


def test_model_comes_from_the_package_isolated(states):
    request = states["Create model"]["Parameters"]
    assert request["PrimaryContainer"] == {"ModelPackageName.$": "$.package.arn"}
    assert request["EnableNetworkIsolation"] is True


def test_update_is_blue_green_with_rollback_on_the_apps_alarms(states, template):
    request = states["Update endpoint"]["Parameters"]
    config = request["DeploymentConfig"]
    assert config["BlueGreenUpdatePolicy.$"] == "$.deployment.blue_green_update_policy"
    alarms = [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]]
    assert alarms == ROLLBACK_ALARMS
    defined = {r["Properties"]["AlarmName"]: r["Properties"]
               for r in template.find_resources("AWS::CloudWatch::Alarm").values()}
    assert defined[ROLLBACK_ALARMS[0]]["MetricName"] == "Invocation5XXErrors"
    assert defined[ROLLBACK_ALARMS[1]]["MetricName"] == "ModelLatency"
    assert defined[ROLLBACK_ALARMS[1]]["ExtendedStatistic"] == "p99"
    assert request["RetainAllVariantProperties"] is True
    assert request["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DataCaptureConfig"}]


def test_create_when_missing_update_when_in_service_fail_otherwise(states):
    lookup = states["Describe endpoint"]
    # A missing endpoint is a refused call (SageMaker.SageMakerException): its cause is read
    # first, and what is not a throttle decides between creating and updating.
    refused, other = lookup["Catch"][:2]
    assert refused == {"ErrorEquals": ["SageMaker.SageMakerException"], "ResultPath": "$.error",
                       "Next": "Describe endpoint: API error transient?"}
    assert states[refused["Next"]]["Default"] == "Endpoint missing?"
    assert other == {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error",
                     "Next": "Endpoint missing?"}
    missing = states["Endpoint missing?"]
    assert missing["Choices"][0]["StringMatches"] == "*Could not find endpoint*"
    assert missing["Choices"][0]["Next"] == "Create endpoint"
    assert missing["Default"] == "Notify failure"
    status = {c["StringEquals"]: c["Next"] for c in states["Endpoint status?"]["Choices"]}
    assert status == {"InService": "Find scalable target", "Failed": "Endpoint is failed"}
    assert states["Endpoint status?"]["Default"] == "Endpoint is busy"
    for create_or_update in ("Create endpoint", "Update endpoint"):
        assert states[create_or_update]["Next"] == "Wait for endpoint"
    assert states["Wait for endpoint"]["Seconds"] == 60


def test_rollback_is_detected_by_the_endpoint_config_it_serves(states):
    choices = states["Endpoint deployed?"]["Choices"]
    deployed = choices[0]["And"]
    assert {"Variable": "$.endpoint_status.EndpointStatus", "StringEquals": "InService"} in deployed
    assert {"Variable": "$.endpoint_status.EndpointConfigName",
            "StringEqualsPath": "$.run.job_names.endpoint_config"} in deployed
    assert choices[0]["Next"] == "Register autoscaling"
    assert choices[1] == {"Variable": "$.endpoint_status.EndpointStatus",
                          "StringEquals": "InService", "Next": "Autoscaling was suspended?"}
    # A rolled-back update gives the old fleet its autoscaling back before failing.
    restore = states["Autoscaling was suspended?"]
    assert restore["Choices"][0]["Next"] == "Restore autoscaling"
    assert restore["Default"] == "Rollback reason given?"
    assert states["Restore scaling policy"]["Next"] == "Rollback reason given?"
    assert states["Endpoint deployed?"]["Default"] == "Wait for endpoint"
    explain = states["Explain rollback"]["Parameters"]
    assert explain["Error"] == "DeploymentRolledBack"
    assert explain["Cause.$"] == ("States.Format('deployment rolled back: {}', "
                                  "$.endpoint_status.FailureReason)")
    assert states["Explain rollback"]["Next"] == "Notify failure"
    assert states["Pipeline failed"]["CausePath"] == "$.error.Cause"


def test_autoscaling_target_and_target_tracking_policy(states, dev):
    register = states["Register autoscaling"]["Parameters"]
    assert register == {"ServiceNamespace": "sagemaker",
                        "ResourceId.$": "$.autoscaling.resource_id",
                        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                        "MinCapacity.$": "$.autoscaling.min_capacity",
                        "MaxCapacity.$": "$.autoscaling.max_capacity"}
    policy = states["Set scaling policy"]["Parameters"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration.$"] == "$.autoscaling.target_tracking"
    assert states["Suspend autoscaling"]["Next"] == "Update endpoint"
    # The values come from the stage config through the validated defaults.
    payload = states["Validate input"]["Parameters"]
    assert payload["defaults"]["autoscaling"] == \
        deployment_defaults(dev.config.use_cases[0])["autoscaling"]
    assert payload["platform"]["endpoint_name"] == "mlplatform-dev-churn"
    assert payload["platform"]["resource_prefix"] == "mlplatform-dev-churn"


def test_validator_gets_the_stage_defaults(states, dev):
    payload = states["Validate input"]["Parameters"]
    assert payload["pipeline"] == "deployment"
    expected = deployment_defaults(dev.config.use_cases[0])
    # CDK drops null values from a payload (the validator reads absent as null).
    assert payload["defaults"]["deployment"] == expected["deployment"]
    assert payload["defaults"]["endpoint"] == {
        k: v for k, v in expected["endpoint"].items() if v is not None}


def test_data_quality_job_definition_and_schedule(template, states, dev):
    template.has_resource_properties("AWS::SageMaker::DataQualityJobDefinition", {
        "JobDefinitionName": Match.string_like_regexp(
            r"^mlplatform-dev-churn-data-quality-[0-9a-f]{10}$"),
        # No Environment: the preprocessor takes the columns from the job's baseline, which
        # follows the deployed model's spec (tests/runtime/test_monitoring_scripts.py).
        "DataQualityAppSpecification": {
            "ImageUri": builtin_image_uri("model-monitor", dev.config.region),
            "RecordPreprocessorSourceUri": Match.any_value(),
            "PostAnalyticsProcessorSourceUri": Match.any_value()},
        "DataQualityJobInput": {"EndpointInput": Match.object_like(
            {"EndpointName": "mlplatform-dev-churn"})},
        "DataQualityJobOutputConfig": Match.object_like({"KmsKeyId": Match.any_value()}),
        "JobResources": {"ClusterConfig": Match.object_like(
            {"InstanceType": "ml.m5.large", "VolumeKmsKeyId": Match.any_value()})},
    })
    (definition,) = template.find_resources("AWS::SageMaker::DataQualityJobDefinition").values()
    job_definition_name = definition["Properties"]["JobDefinitionName"]
    baseline = json.dumps(definition["Properties"]["DataQualityBaselineConfig"])
    for name in ("constraints", "statistics"):  # where the state machine promotes them to
        assert f'/baselines/mlplatform-dev-churn/data-quality/current/{name}.json"' in baseline
    # The schedule keeps its name (the drift alarms' MonitoringSchedule dimension) and names
    # the job definition of this template, whose name changes when CloudFormation replaces it.
    create = states["Create data quality schedule"]["Parameters"]
    assert create["MonitoringScheduleName"] == "mlplatform-dev-churn-data-quality"
    assert create["MonitoringScheduleConfig"] == {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": job_definition_name,
        "MonitoringType": "DataQuality"}
    update = states["Update data quality schedule"]["Parameters"]
    assert update["MonitoringScheduleConfig"] == create["MonitoringScheduleConfig"]
    template.resource_count_is("AWS::SageMaker::ModelQualityJobDefinition", 0)


def test_baseline_job_runs_the_analyzer_before_traffic_moves(states, dev):
    job = states["Compute data quality baseline"]
    request = job["Parameters"]
    assert request["AppSpecification"]["ImageUri"] == builtin_image_uri("model-monitor",
                                                                        dev.config.region)
    assert json.loads(request["Environment"]["dataset_format"]) == {
        "csv": {"header": True, "output_columns_position": "START"}}
    assert request["ProcessingInputs"][0]["S3Input"]["S3Uri.$"] == "$.baseline_source.s3_uri"
    assert request["ProcessingOutputConfig"]["KmsKeyId"]
    assert job["Next"] == "Describe endpoint"
    derive = states["Use the training run's baseline"]["Parameters"]["s3_uri.$"]
    # The run's folder as the training pipeline records it (runs/<use case>/<execution>/).
    assert derive == ("States.Format('{}preprocessing/baseline/', "
                      "$.package_description.CustomerMetadataProperties.run)")
    promote = states["Promote baseline constraints"]["Parameters"]
    assert promote["CopySource.$"] == "$.run.s3.baseline_promotions[0].source"


def test_endpoint_and_monitoring_alarms(template):
    alarms = {r["Properties"]["AlarmName"]: r["Properties"]
              for r in template.find_resources("AWS::CloudWatch::Alarm").values()}
    errors = alarms["mlplatform-dev-churn-endpoint-5xx-errors"]
    assert errors["Threshold"] == 5 and errors["Statistic"] == "Sum"
    assert errors["Dimensions"] == [{"Name": "EndpointName", "Value": "mlplatform-dev-churn"},
                                    {"Name": "VariantName", "Value": "AllTraffic"}]
    assert alarms["mlplatform-dev-churn-endpoint-latency-p99"]["Threshold"] == 1_000_000  # µs
    assert {"mlplatform-dev-churn-endpoint-memory",
            "mlplatform-dev-churn-endpoint-disk"} <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] and alarm["OKActions"], name
        assert alarm["TreatMissingData"] == "notBreaching"
    # Drift: one alarm on the run's largest feature drift, which names no column, so it watches
    # whatever columns the deployed model has (not one alarm per column of the bundled spec).
    drift = alarms["mlplatform-dev-churn-data-drift"]
    assert (drift["Namespace"], drift["MetricName"], drift["Statistic"]) == (
        "aws/sagemaker/Endpoints/data-metrics", DRIFT_SUMMARY_METRIC, "Maximum")
    assert drift["Dimensions"] == [
        {"Name": "Endpoint", "Value": "mlplatform-dev-churn"},
        {"Name": "MonitoringSchedule", "Value": "mlplatform-dev-churn-data-quality"}]
    assert drift["Threshold"] == 0.2 and drift["ComparisonOperator"] == "GreaterThanThreshold"
    assert not [a for a in alarms.values() if "feature_baseline_drift" in json.dumps(a)]
    template.resource_count_is("AWS::CloudWatch::CompositeAlarm", 0)


def test_approval_rule_starts_the_deployment_with_the_package(template):
    rules = template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {
        "detail-type": ["SageMaker Model Package State Change"]}}})
    (rule,) = rules.values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"] == {"ModelPackageGroupName": ["mlplatform-dev-churn"],
                                 "ModelApprovalStatus": ["Approved"]}
    (target,) = rule["Properties"]["Targets"]
    deployment_id = next(iter(template.find_resources(
        "AWS::StepFunctions::StateMachine",
        {"Properties": {"StateMachineName": DEPLOYMENT}})))
    assert target["Arn"] == {"Ref": deployment_id}
    assert target["InputTransformer"]["InputTemplate"] == \
        '{"model_package_arn":<detail-ModelPackageArn>}'


def test_drift_alarm_starts_the_retraining_gate(template, gate):
    rules = template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {
        "detail-type": ["CloudWatch Alarm State Change"]}}})
    (rule,) = rules.values()
    assert rule["Properties"]["EventPattern"]["detail"] == {"state": {"value": ["ALARM"]}}
    drift = next(iter(template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {
        "AlarmName": "mlplatform-dev-churn-data-drift"}})))
    assert rule["Properties"]["EventPattern"]["resources"] == [{"Fn::GetAtt": [drift, "Arn"]}]
    gate_id = next(iter(template.find_resources(
        "AWS::StepFunctions::StateMachine", {"Properties": {"StateMachineName": GATE}})))
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": gate_id}
    start = gate["States"]["Start training pipeline"]
    assert start["Resource"].endswith(":states:::states:startExecution")
    assert "TrainingFrameStateMachine" in start["Parameters"]["StateMachineArn"]  # Pipelines
    assert start["Parameters"]["Input"]["registry"]["description.$"].startswith(
        "States.Format('Retrained on the latest data after {} at {}'")


def test_retraining_gate_holds_a_lock_for_the_configured_hours(gate, dev):
    s = gate["States"]
    assert s["Hold the retraining lock"]["Seconds"] == \
        dev.config.monitoring.min_hours_between_retraining * 3600
    assert s["Start training pipeline"]["Next"] == "Notify retraining started"
    assert s["Notify retraining started"]["Next"] == "Hold the retraining lock"
    lock = s["Holds the lock?"]["Choices"][0]
    assert lock["Variable"] == "$.lock.oldest.ExecutionArn"
    assert lock["StringEqualsPath"] == "$.gate.arn"
    assert s["Holds the lock?"]["Default"] == "Notify retraining skipped"
    assert s["Training running?"]["Choices"][0]["Next"] == "Notify retraining skipped"
    listing = s["List running gates"]["Parameters"]
    assert listing["StatusFilter"] == "RUNNING"
    assert listing["StateMachineArn"].endswith(f":stateMachine:{GATE}")


def test_state_machines_log_encrypted_and_trace(template):
    template.resource_count_is("AWS::StepFunctions::StateMachine", 2)
    template.all_resources_properties("AWS::StepFunctions::StateMachine", {
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({"Level": "ALL"})})


# --- IAM -----------------------------------------------------------------------------------------
def statements(template: Template) -> list[dict]:
    return [s for p in template.find_resources("AWS::IAM::Policy").values()
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions(statement: dict) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def test_pass_role_and_service_linked_role_are_conditioned(template):
    found = [s for s in statements(template) if actions(s) & {"iam:PassRole",
                                                            "iam:CreateServiceLinkedRole"}]
    assert {a for s in found for a in actions(s)} == {"iam:PassRole",
                                                      "iam:CreateServiceLinkedRole"}
    for statement in found:
        if "iam:PassRole" in actions(statement):
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        else:
            assert statement["Condition"] == {"StringLike": {
                "iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}}


def test_kms_grants_only_for_aws_resources(template):
    grants = [s for s in statements(template) if "kms:CreateGrant" in actions(s)]
    assert grants and all(s["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
                          for s in grants)


def test_alarms_may_publish_to_the_serving_topic_only(dev):
    storage = Template.from_stack(dev.stack("Storage"))
    (key,) = storage.find_resources("AWS::KMS::Key").values()
    statement = next(s for s in key["Properties"]["KeyPolicy"]["Statement"]
                     if s.get("Sid") == "AllowCloudWatchAlarmsToPublishToTheServingTopic")
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    condition = json.dumps(statement["Condition"])
    assert "kms:EncryptionContext:aws:sns:topicArn" in condition
    assert "mlplatform-dev-serving" in condition


# --- other stages --------------------------------------------------------------------------------
def test_prod_canary_runs_in_the_vpc(definitions, synthesized):
    states = definitions["prod"]["mlplatform-prod-churn-deployment"]["States"]
    assert states["Create model"]["Parameters"]["VpcConfig"]["Subnets"]
    payload = states["Validate input"]["Parameters"]
    assert payload["defaults"]["deployment"]["traffic_routing"] == "CANARY"
    assert payload["defaults"]["autoscaling"]["min_capacity"] == 2
    prod = Template.from_stack(synthesized["prod"].stack("Serving"))
    prod.has_resource_properties("AWS::SageMaker::DataQualityJobDefinition", {
        "NetworkConfig": {"EnableNetworkIsolation": False,
                          "EnableInterContainerTrafficEncryption": True,
                          "VpcConfig": Match.any_value()}})


def test_a_serverless_stage(serverless):
    from ml_constructs.compliance import nag_packs

    app, template, asl = serverless
    states = asl["States"]
    request = states["Create endpoint config"]["Parameters"]
    assert "DataCaptureConfig" not in request and "KmsKeyId" not in request
    assert states["Create model"]["Parameters"]["EnableNetworkIsolation"] is False
    assert not {"Register autoscaling", "Find scalable target", "Compute data quality baseline",
                "Create data quality schedule"} & set(states)
    assert states["Endpoint status?"]["Choices"][0]["Next"] == "Update endpoint"
    assert "RetainAllVariantProperties" not in states["Update endpoint"]["Parameters"]
    payload = states["Validate input"]["Parameters"]
    assert payload["defaults"]["endpoint"]["serverless"] == {"memory_size_mb": 3072,
                                                             "max_concurrency": 10}
    assert payload["platform"]["serverless"] is True
    template.resource_count_is("AWS::SageMaker::DataQualityJobDefinition", 0)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)  # no drift, no gate
    assert not [v for pack in nag_packs(app) for v in pack.validate_scope(app).violations]


def test_ground_truth_adds_model_quality_monitoring(ground_truth):
    from ml_constructs.compliance import nag_packs

    app, template, asl = ground_truth
    template.has_resource_properties("AWS::SageMaker::ModelQualityJobDefinition", {
        "JobDefinitionName": Match.string_like_regexp(
            r"^mlplatform-dev-churn-model-quality-[0-9a-f]{10}$"),
        "ModelQualityAppSpecification": Match.object_like(
            {"ProblemType": "BinaryClassification"}),
        "ModelQualityJobInput": {
            "EndpointInput": Match.object_like({"ProbabilityAttribute": "0",
                                                "ProbabilityThresholdAttribute": 0.5}),
            "GroundTruthS3Input": {"S3Uri": "s3://mlplatform-dev-raw-123456789012/labels/"}},
    })
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "mlplatform-dev-churn-model-quality", "MetricName": "auc",
        "ComparisonOperator": "LessThanThreshold", "Threshold": 0.8})
    create = asl["States"]["Create model quality schedule"]["Parameters"]
    assert create["MonitoringScheduleConfig"]["MonitoringType"] == "ModelQuality"
    assert asl["States"]["Baseline computed?"]["Default"] == "Find model quality schedule"
    rule = next(r for r in template.find_resources("AWS::Events::Rule").values()
                if "aws.cloudwatch" in r["Properties"]["EventPattern"]["source"])
    assert len(rule["Properties"]["EventPattern"]["resources"]) == 2
    assert not [v for pack in nag_packs(app) for v in pack.validate_scope(app).violations]
