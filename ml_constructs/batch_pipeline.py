"""The batch inference pipeline: a model package (given, or the group's latest Approved one) ->
model -> batch transform over the input data -> notification. Optionally on a schedule."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import in_finding, wildcard_findings
from ml_constructs.model_package_choice import choose_model_package, list_packages_arn
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import (
    TRANSFORM,
    create_model_state,
    grant_sagemaker_jobs,
    sagemaker_job_state,
)


@dataclass(frozen=True)
class BatchPipelineProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    execution_role: iam.IRole
    model_package_group_name: str
    name_prefix: str
    defaults: dict
    platform: dict


class BatchPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: BatchPipelineProps,
                 **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        frame = props.frame
        validate = frame.validate_input(defaults=props.defaults, platform=props.platform)
        create_model = self._create_model()
        validate.next(choose_model_package(self, frame, props.model_package_group_name,
                                           create_model))
        create_model.next(self._transform())
        self.state_machine = frame.finish(validate, **finish_kwargs)
        grant_sagemaker_jobs(self, self.state_machine.role, [TRANSFORM],
                             name_prefix=props.name_prefix, execution_role=props.execution_role)
        stack = cdk.Stack.of(self)
        frame.acknowledge_policy(
            self.state_machine,
            "Reads the versions of its own model package group; ListModelPackages is authorized "
            "on model packages only (no group ARN applies), the request filters to the group; "
            "creates models named after the stage prefix.",
            wildcard_findings(resources=(
                in_finding(self, list_packages_arn(self)),
                in_finding(self, stack.format_arn(
                    service="sagemaker", resource="model-package",
                    resource_name=f"{props.model_package_group_name}/*")),
                in_finding(self, stack.format_arn(service="sagemaker", resource="model",
                                                  resource_name=f"{props.name_prefix}-*")),
            )),
        )

    def _create_model(self) -> sfn.IChainable:
        return self.props.frame.protect(create_model_state(
            self, jobs.model(self.props.job_settings, container=jobs.model_from_package()),
            name_prefix=self.props.name_prefix))

    def _transform(self) -> sfn.IChainable:
        frame = self.props.frame
        transform = frame.protect_job(sagemaker_job_state(
            self, "Run batch transform", TRANSFORM, jobs.transform_job(self.props.job_settings),
            result_selector={"arn.$": "$.TransformJobArn",
                             "output.$": "$.TransformOutput.S3OutputPath"},
            result_path="$.transform_result",
            comment="Line-split, multi-record batches through the model's inference server",
        ), kind="transform")
        notify = frame.notify("Notify success", f"{frame.state_machine_name}: batch done", {
            "status": "SUCCEEDED",
            "model_package_arn": sfn.JsonPath.string_at("$.package.arn"),
            "output": sfn.JsonPath.string_at("$.transform_result.output"),
        })
        transform.next(notify).next(sfn.Succeed(self, "Predictions written"))
        return transform
