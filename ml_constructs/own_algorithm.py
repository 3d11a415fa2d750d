"""The account's own algorithm resource for a use case's image (stage config
`training.own_algorithm`): its training image, channels (content types, input modes,
compression), instance type, metrics, tuning objective and hyperparameters, declared from the
use case's manifest, so that SageMaker validates each training and tuning job that names it
(`AlgorithmSpecification.AlgorithmName`) against them before it starts.

CloudFormation's `AWS::SageMaker::Algorithm` exists in some regions only: cfn-lint 1.58's
provider schemas list it for us-east-1, us-west-2, eu-central-1 and ap-south-1, not for
eu-west-1 (the default stage's region). So a custom resource calls CreateAlgorithm and
DeleteAlgorithm. An algorithm cannot be updated: its name carries a hash of its request, so a
changed declaration (a new image tag, say) creates a new algorithm and CloudFormation deletes
the old one once the update succeeded.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import (
    acknowledge_role_policy,
    acknowledge_sdk_provider,
    ref_in_finding,
    wildcard_findings,
)
from ml_constructs.resource_names import bounded
from runtime_scripts import contract
from runtime_scripts.common.manifest import UseCaseManifest

ROLE_ID = "OwnAlgorithmsRole"
LOG_GROUP_ID = "OwnAlgorithmsLogs"
DIGEST_LENGTH = 8
DESCRIPTION_MAX = 1024  # API: EntityDescription max 1024


def hyperparameter_specifications(manifest: UseCaseManifest) -> list[dict]:
    """SupportedHyperParameters: the tuning ranges (tunable, with their range) and every other
    hyperparameter the manifest sets (fixed, its value the default)."""
    ranges = manifest.tuning.ranges
    specs = []
    kinds = (("continuous", "Continuous", "ContinuousParameterRangeSpecification"),
             ("integer", "Integer", "IntegerParameterRangeSpecification"))
    for kind, api_type, range_key in kinds:
        for r in ranges.get(kind, []):
            specs.append({"Name": r["name"], "Type": api_type, "IsTunable": True,
                          "IsRequired": False, "Range": {range_key: {
                              "MinValue": str(r["min"]), "MaxValue": str(r["max"])}}})
    for r in ranges.get("categorical", []):
        specs.append({"Name": r["name"], "Type": "Categorical", "IsTunable": True,
                      "IsRequired": False, "Range": {"CategoricalParameterRangeSpecification": {
                          "Values": list(r["values"])}}})
    tuned = {s["Name"] for s in specs}
    fixed = {**manifest.hyperparameters, **manifest.tuning.static_hyperparameters}
    specs += [{"Name": name, "Type": "FreeText", "IsTunable": False, "IsRequired": False,
               "DefaultValue": value} for name, value in sorted(fixed.items())
              if name not in tuned]
    return specs


def training_specification(settings: jobs.JobSettings, manifest: UseCaseManifest,
                           instance_type: str) -> dict:
    """CreateAlgorithm's TrainingSpecification for the use case's image."""
    return {
        "TrainingImage": settings.training_image_uri,
        "SupportedHyperParameters": hyperparameter_specifications(manifest),
        "SupportedTrainingInstanceTypes": [instance_type],
        # The shared tabular script trains on one host.
        "SupportsDistributedTraining": False,
        "MetricDefinitions": jobs.metric_definitions(settings),
        "TrainingChannels": [
            {"Name": c.name, "IsRequired": True,
             "SupportedContentTypes": list(c.content_types),
             "SupportedInputModes": list(c.input_modes),
             "SupportedCompressionTypes": list(c.compression_types)}
            for c in manifest.channels],
        "SupportedTuningJobObjectiveMetrics": [{"Type": manifest.tuning.objective_type,
                                                "MetricName": manifest.tuning.objective_metric}],
    }


class OwnAlgorithm(Construct):
    """One use case's algorithm resource; `name` is what its pipelines train with."""

    def __init__(self, scope: Construct, construct_id: str, *, base_name: str,
                 settings: jobs.JobSettings, manifest: UseCaseManifest, instance_type: str,
                 key: kms.IKey, log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        specification = training_specification(settings, manifest, instance_type)
        # Resolved: the image's asset hash is part of the digest, tokens as CloudFormation has
        # them (a new image is a new algorithm).
        digest = hashlib.sha256(json.dumps(stack.resolve(specification), sort_keys=True)
                                .encode()).hexdigest()[:DIGEST_LENGTH]
        self.name = bounded(f"{base_name}-{digest}", contract.SAGEMAKER_NAME_MAX)
        self.request = {"AlgorithmName": self.name,
                        "AlgorithmDescription": manifest.description[:DESCRIPTION_MAX],
                        "TrainingSpecification": specification,
                        "CertifyForMarketplace": False}
        create = cr.AwsSdkCall(service="SageMaker", action="createAlgorithm",
                               parameters=self.request,
                               physical_resource_id=cr.PhysicalResourceId.of(self.name))
        first = stack.node.try_find_child(ROLE_ID) is None
        role, log_group = _provider_role(stack, key, log_retention)
        role.add_to_policy(iam.PolicyStatement(
            actions=["sagemaker:CreateAlgorithm", "sagemaker:DeleteAlgorithm"],
            resources=[stack.format_arn(service="sagemaker", resource="algorithm",
                                        resource_name=self.name)]))
        self.resource = cr.AwsCustomResource(
            self, "Resource", on_create=create, on_update=create,
            on_delete=cr.AwsSdkCall(service="SageMaker", action="deleteAlgorithm",
                                    parameters={"AlgorithmName": self.name}),
            role=role, log_group=log_group, install_latest_aws_sdk=False,
            timeout=cdk.Duration.minutes(2))
        if first:
            acknowledge_role_policy(
                role.node.find_child("DefaultPolicy"),
                "Log streams get generated names inside this function's own log group.",
                wildcard_findings(resources=(f"{ref_in_finding(log_group)}:log-stream:*",)))
            acknowledge_sdk_provider(stack)


def _provider_role(stack: cdk.Stack, key: kms.IKey,
                   log_retention: logs.RetentionDays) -> tuple[iam.Role, logs.LogGroup]:
    """The role and log group of the stack's provider function: AwsCustomResource runs every
    call of a stack in one function, so one role and one log group serve every algorithm."""
    existing = stack.node.try_find_child(ROLE_ID)
    if existing is not None:
        return existing, stack.node.find_child(LOG_GROUP_ID)
    # A generated name: retained by `cdk destroy`, and never in the way of the next deploy.
    log_group = logs.LogGroup(stack, LOG_GROUP_ID, encryption_key=key, retention=log_retention,
                              removal_policy=cdk.RemovalPolicy.RETAIN)
    role = iam.Role(stack, ROLE_ID, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description="Deploy time: create and delete the use cases' SageMaker "
                                "algorithm resources")
    role.add_to_policy(iam.PolicyStatement(
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"]))
    return role, log_group
