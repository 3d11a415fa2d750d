"""The batch inference pipeline: a model package (given, or the group's latest Approved one) ->
model -> batch transform over the input data -> (when labels are known for the batch) the
predictions scored against them, and, for a use case with an accuracy monitor, the score
published for its alarm (accuracy_metric.py) -> notification. Optionally on a schedule; a use
case with a prediction table writes into its partition of the day (prediction_table.py)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import accuracy_metric
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import in_finding, wildcard_findings
from ml_constructs.model_package_choice import choose_model_package, list_packages_arn
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import (
    PROCESSING,
    TRANSFORM,
    create_model_state,
    grant_sagemaker_jobs,
    read_evaluation_state,
    sagemaker_job_state,
)
from runtime_scripts import contract
from runtime_scripts.common.manifest import UseCaseManifest


@dataclass(frozen=True)
class BatchPipelineProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    execution_role: iam.IRole
    artifacts_bucket: s3.IBucket
    model_package_group_name: str
    name_prefix: str  # the stage's: every job and model name starts with it
    runs_prefix: str  # the artifacts bucket's folder of this use case's executions
    defaults: dict
    platform: dict
    # Its use case's manifest: with an accuracy_monitor, a run given labels publishes it.
    manifest: UseCaseManifest | None = None


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
        if self._publishes_accuracy:
            self.state_machine.add_to_role_policy(accuracy_metric.publish_statement())
        grant_sagemaker_jobs(self, self.state_machine.role, [TRANSFORM, PROCESSING],
                             name_prefix=props.name_prefix, execution_role=props.execution_role)
        stack = cdk.Stack.of(self)
        frame.acknowledge_policy(
            self.state_machine,
            "Reads the versions of its own model package group; ListModelPackages is authorized "
            "on model packages only (no group ARN applies), the request filters to the group; "
            "creates models named after the stage prefix; reads evaluation.json under the "
            "per-execution batch/ prefix of its use case; PutMetricData authorizes no "
            "resource, limited to the accuracy namespace by condition.",
            wildcard_findings(resources=(
                in_finding(self, list_packages_arn(self)),
                in_finding(self, stack.format_arn(
                    service="sagemaker", resource="model-package",
                    resource_name=f"{props.model_package_group_name}/*")),
                in_finding(self, props.artifacts_bucket.arn_for_objects(
                    f"{props.runs_prefix}*")),
                in_finding(self, stack.format_arn(service="sagemaker", resource="model",
                                                  resource_name=f"{props.name_prefix}-*")),
                *(("*",) if self._publishes_accuracy else ()),
            )),
        )

    @property
    def _publishes_accuracy(self) -> bool:
        manifest = self.props.manifest
        return manifest is not None and manifest.accuracy_monitor is not None

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
            "labels": sfn.JsonPath.string_at("$.data.labels_s3_uri"),
            "evaluation": sfn.JsonPath.string_at("$.run.s3.evaluation"),
        })
        notify.next(sfn.Succeed(self, "Predictions written"))
        if self.props.platform.get("labels_refusal"):
            # The first state refuses labels (its answers cannot be paired with them): no
            # evaluation to branch to.
            transform.next(notify)
            return transform
        transform.next(sfn.Choice(self, "Labels given?")
                       .when(sfn.Condition.is_string("$.data.labels_s3_uri"),
                             self._evaluate(then=notify))
                       .otherwise(notify))
        return transform

    def _evaluate(self, *, then: sfn.IChainable) -> sfn.IChainable:
        """The predictions against the labels known for the batch: the training pipeline's
        evaluation job (`process evaluate`) on the package's model, paired by the id columns."""
        props, frame = self.props, self.props.frame
        describe = frame.protect(tasks.CallAwsService(
            self, "Describe model package",
            service="sagemaker", action="describeModelPackage",
            parameters={"ModelPackageName.$": "$.package.arn"},
            iam_resources=[cdk.Stack.of(self).format_arn(
                service="sagemaker", resource="model-package",
                resource_name=f"{props.model_package_group_name}/*")],
            result_selector={
                "artifacts.$": "$.InferenceSpecification.Containers[0].ModelDataUrl"},
            result_path="$.model",
        ))
        evaluate = frame.protect_job(sagemaker_job_state(
            self, "Evaluate predictions", PROCESSING,
            jobs.processing_job(
                props.job_settings,
                job_name_path="$.run.job_names.evaluation",
                command=["process", "evaluate"],
                inputs=[
                    jobs.processing_input(contract.PROCESSING_INPUT_MODEL, "$.model.artifacts"),
                    jobs.processing_input(contract.PROCESSING_INPUT_PREDICTIONS,
                                          "$.transform_result.output"),
                    jobs.processing_input(contract.PROCESSING_INPUT_LABELS,
                                          "$.data.labels_s3_uri"),
                ],
                outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_EVALUATION,
                                                "$.run.s3.evaluation")],
                data_path="$.data.labels_s3_uri"),
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.evaluation",
            comment="Score the predictions against the labels known for the batch",
        ), kind="evaluation")
        read = describe.next(evaluate).next(frame.protect(
            read_evaluation_state(self, props.artifacts_bucket, f"{props.runs_prefix}*")))
        if self._publishes_accuracy:
            read = read.next(frame.protect(accuracy_metric.publish_state(
                self, props.manifest, props.model_package_group_name)))
        read.next(then)
        return describe
