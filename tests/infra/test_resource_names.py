"""Resource names of a use case (ml_constructs/resource_names.py): every name within its
service's limit at the longest prefix and use case the config allows, distinct across use
cases, and shortened with a stable hash only when over a limit."""

from __future__ import annotations

import re

import pytest

from config import RESOURCE_PREFIX_MAX
from ml_constructs import resource_names
from ml_constructs.resource_names import UseCaseNames, bounded
from runtime_scripts.common.manifest import USE_CASE_NAME, USE_CASE_NAME_MAX

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
STATE_MACHINE_NAME = re.compile(r"^[0-9A-Za-z_-]{1,80}$")  # what we generate: no spaces
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z-_.]{1,64}$")  # EventBridge Scheduler's pattern
LONGEST = UseCaseNames("p" * RESOURCE_PREFIX_MAX, "u" * USE_CASE_NAME_MAX)


def all_names(names: UseCaseNames) -> dict[str, tuple[str, int, re.Pattern]]:
    """name kind -> (name, its limit, its pattern)."""
    machines = {f"state machine {p}": (names.state_machine(p),
                                       resource_names.STATE_MACHINE_NAME_MAX, STATE_MACHINE_NAME)
                for p in resource_names.PIPELINES}
    return {
        **machines,
        "model package group": (names.model_package_group, resource_names.SAGEMAKER_NAME_MAX,
                                SAGEMAKER_NAME),
        "endpoint": (names.endpoint, resource_names.SAGEMAKER_NAME_MAX, SAGEMAKER_NAME),
        "glue job": (names.glue_job, resource_names.GLUE_JOB_NAME_MAX, STATE_MACHINE_NAME),
        "glue table": (names.glue_table, resource_names.GLUE_TABLE_NAME_MAX,
                       re.compile(r"^[a-z0-9_]+$")),
        "batch schedule": (names.batch_schedule, resource_names.SCHEDULE_NAME_MAX,
                           SCHEDULE_NAME),
    }


def test_every_name_fits_its_limit_whole_at_the_longest_prefix_and_use_case():
    assert USE_CASE_NAME.match(LONGEST.use_case)
    for kind, (name, limit, pattern) in all_names(LONGEST).items():
        assert len(name) <= limit and pattern.match(name), (kind, name)
        # No hash needed within the config's limits: the name reads as it is.
        assert LONGEST.use_case.replace("-", "_") in name or LONGEST.use_case in name, kind


def test_the_agreed_names_for_churn_in_dev():
    names = UseCaseNames("mlplatform-dev", "churn")
    assert names.state_machine("training") == "mlplatform-dev-churn-training"
    assert names.state_machine("batch-inference") == "mlplatform-dev-churn-batch-inference"
    assert names.state_machine("deployment") == "mlplatform-dev-churn-deployment"
    assert names.model_package_group == names.endpoint == "mlplatform-dev-churn"
    assert names.glue_job == "mlplatform-dev-churn-etl" and names.glue_table == "churn"
    assert names.batch_schedule == "mlplatform-dev-churn-batch-inference"
    assert (names.training_runs_prefix, names.batch_runs_prefix) == ("runs/churn/",
                                                                     "batch/churn/")
    assert names.state_machine("backtest") == "mlplatform-dev-churn-backtest"
    with pytest.raises(ValueError, match="unknown pipeline"):
        names.state_machine("forecast")


@pytest.mark.parametrize(("one", "other"), [("churn", "ames"), ("sales", "sales-eu"),
                                            ("a-bc", "ab-c"), ("x1", "x-1")])
def test_two_use_cases_of_a_stage_share_no_name(one, other):
    first = {name for name, _, _ in all_names(UseCaseNames("mlplatform-dev", one)).values()}
    second = {name for name, _, _ in all_names(UseCaseNames("mlplatform-dev", other)).values()}
    assert first.isdisjoint(second), first & second


def test_a_name_over_its_limit_keeps_its_head_and_ends_in_a_stable_hash():
    long = "mlplatform-" + "x" * 70 + "-batch-inference"
    short = bounded(long, 64)
    assert len(short) == 64 and short.startswith("mlplatform-xxx")
    assert short == bounded(long, 64)  # stable
    # Two names that share their head do not share the result.
    assert bounded(long + "-a", 64) != bounded(long + "-b", 64)
    assert bounded("fits", 64) == "fits"


def test_tags_name_the_use_case_and_the_pipeline():
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns
    from aws_cdk.assertions import Template

    app = cdk.App()
    stack = cdk.Stack(app, "Tagged")
    names = UseCaseNames("mlplatform-dev", "churn")
    topic = sns.Topic(stack, "Topic")
    names.tag(topic, "training")
    Template.from_stack(stack).has_resource_properties("AWS::SNS::Topic", {"Tags": [
        {"Key": "pipeline", "Value": "training"}, {"Key": "use-case", "Value": "churn"}]})
    with pytest.raises(ValueError, match="unknown pipeline"):
        names.tag(topic, "trainig")


def test_no_pipeline_name_ends_in_another_after_a_dash():
    """Why `<prefix>-<use case>-<pipeline>` never collides across use cases: 'a' + 'x-training'
    could only read as 'a-x' + 'training' if some pipeline were another one's tail."""
    pipelines = [*resource_names.PIPELINES, "etl"]  # the Glue job's suffix too
    assert not [(a, b) for a in pipelines for b in pipelines
                if a != b and a.endswith(f"-{b}")]


def test_what_the_use_cases_of_a_stage_share_is_named_once_per_stage():
    names = resource_names.StageNames("mlplatform-dev")
    assert (names.pipelines_topic, names.pipeline_input_function, names.glue_database,
            names.etl_security_configuration) == (
        "mlplatform-dev-pipelines", "mlplatform-dev-pipeline-input", "mlplatform_dev",
        "mlplatform-dev-etl")
    longest = resource_names.StageNames("p" * RESOURCE_PREFIX_MAX)
    assert len(longest.pipeline_input_function) <= resource_names.LAMBDA_FUNCTION_NAME_MAX
    assert longest.pipeline_input_function == f"{longest.prefix}-pipeline-input"  # whole


@pytest.mark.parametrize(("limit", "service", "operation", "member"), [
    ("STATE_MACHINE_NAME_MAX", "stepfunctions", "CreateStateMachine", "name"),
    ("SAGEMAKER_NAME_MAX", "sagemaker", "CreateModelPackageGroup", "ModelPackageGroupName"),
    ("SAGEMAKER_NAME_MAX", "sagemaker", "CreateEndpoint", "EndpointName"),
    ("GLUE_JOB_NAME_MAX", "glue", "CreateJob", "Name"),
    ("GLUE_TABLE_NAME_MAX", "glue", "CreateTable", "TableInput.Name"),
    ("GLUE_DATABASE_NAME_MAX", "glue", "CreateDatabase", "DatabaseInput.Name"),
    ("GLUE_SECURITY_CONFIGURATION_NAME_MAX", "glue", "CreateSecurityConfiguration", "Name"),
    ("SCHEDULE_NAME_MAX", "scheduler", "CreateSchedule", "Name"),
    ("LOG_GROUP_NAME_MAX", "logs", "CreateLogGroup", "logGroupName"),
])
def test_each_limit_is_the_services_own(limit, service, operation, member):
    """As botocore's service models state them (Lambda's 140 is for an ARN; a bare function
    name is 64, and SNS's model states no length: their API references do)."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model(service) \
        .operation_model(operation).input_shape
    for part in member.split("."):
        shape = shape.members[part]
    assert getattr(resource_names, limit) == shape.metadata["max"]
