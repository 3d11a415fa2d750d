"""Which model package a pipeline serves: the one the input names, else the group's latest
Approved one (`$.run.use_latest_approved` from the input validator). The result is `$.package.arn`.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs.pipeline_state_machine import PipelineFrame


def package_arns(scope: Construct, group_name: str) -> list[str]:
    stack = cdk.Stack.of(scope)
    return [stack.format_arn(service="sagemaker", resource="model-package-group",
                             resource_name=group_name),
            stack.format_arn(service="sagemaker", resource="model-package",
                             resource_name=f"{group_name}/*")]


def list_packages_arn(scope: Construct) -> str:
    """What `sagemaker:ListModelPackages` is authorized on. The Service Authorization Reference
    lists the action with the model-package resource type only (not model-package-group), and a
    list request names no package, so a grant on the group's own ARNs never applies to it: the
    narrowest grant is every model package ARN of this account and region. The request itself
    stays filtered to the group (ModelPackageGroupName)."""
    return cdk.Stack.of(scope).format_arn(service="sagemaker", resource="model-package",
                                          resource_name="*")


def choose_model_package(scope: Construct, frame: PipelineFrame, group_name: str,
                         then: sfn.IChainable) -> sfn.IChainable:
    requested = sfn.Pass(scope, "Use requested model package",
                         parameters={"arn.$": "$.model_package_arn"}, result_path="$.package")
    latest = frame.protect(tasks.CallAwsService(
        scope, "Find latest approved model package",
        service="sagemaker", action="listModelPackages",
        parameters={"ModelPackageGroupName": group_name, "ModelApprovalStatus": "Approved",
                    "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1},
        iam_resources=[list_packages_arn(scope)],
        result_selector={"packages.$": "$.ModelPackageSummaryList"},
        result_path="$.latest",
    ))
    use_latest = sfn.Pass(scope, "Use latest approved model package",
                          parameters={"arn.$": "$.latest.packages[0].ModelPackageArn"},
                          result_path="$.package")
    none_approved = sfn.Pass(scope, "No approved model package", parameters={
        "Error": "NoApprovedModelPackage",
        "Cause": f"Model package group {group_name} has no Approved package: approve one in "
                 "SageMaker Model Registry or pass model_package_arn",
    }, result_path="$.error")
    none_approved.next(frame.notify_failure)
    latest.next(sfn.Choice(scope, "Approved package found?")
                .when(sfn.Condition.is_present("$.latest.packages[0]"), use_latest)
                .otherwise(none_approved))
    requested.next(then)
    use_latest.next(then)
    return (sfn.Choice(scope, "Model package given?")
            .when(sfn.Condition.boolean_equals("$.run.use_latest_approved", True), latest)
            .otherwise(requested))
