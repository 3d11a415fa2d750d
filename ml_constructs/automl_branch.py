"""The AutoML branch of the training pipeline (`training.algorithm: "automl"`): SageMaker
Autopilot trains instead of the use case's image, its best candidate is evaluated by the use
case's own evaluation job and then gated and registered as any model.

    preprocessing (with the raw AutoML splits) -> Start AutoML job -> Wait / Describe (poll)
    -> the best candidate's inference containers (with the classifier's output keys set) ->
    Create model -> batch transform of the test split -> Evaluate candidate -> (the pipeline's
    Read evaluation, quality gate, registry)

Step Functions has no optimized (.sync) integration for CreateAutoMLJobV2 (its optimized
SageMaker integrations are the training, processing, tuning, transform and model/endpoint
APIs), so the job is started with the aws-sdk integration and polled with
DescribeAutoMLJobV2 until AutoMLJobStatus is Completed, Failed or Stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import (
    PROCESSING,
    TRANSFORM,
    create_model_state,
    sagemaker_job_state,
)
from ml_constructs.sdk_states import SdkStates
from runtime_scripts import contract

# How often the state machine asks for the job's status: Autopilot runs for an hour or more, so
# once a minute costs ~60 state transitions an hour and learns the end within a minute.
POLL_SECONDS = 60
JOB = "$.automl_job"  # DescribeAutoMLJobV2's answer
BEST = f"{JOB}.BestCandidate"
CSV = "text/csv"  # what Autopilot's inference containers read and answer (header-less CSV)


def automl_preprocessing_job(settings: jobs.JobSettings, *, inputs: list[dict] | str,
                             data_path: str) -> dict:
    """The use case's preprocessing, also writing the raw splits Autopilot reads."""
    params = jobs.preprocessing_job(settings, inputs=inputs, data_path=data_path)
    params["ProcessingOutputConfig"]["Outputs"].append(jobs.processing_output(
        contract.PROCESSING_OUTPUT_AUTOML, f"$.run.s3.{contract.PROCESSING_OUTPUT_AUTOML}"))
    params["AppSpecification"]["ContainerArguments"] = ["--automl-splits"]
    return params


def automl_job_request(settings: jobs.JobSettings) -> dict:
    """CreateAutoMLJobV2 over the raw train and validation splits (CSV with a header, the
    target among the columns), every volume and output encrypted with the platform key, in
    the stage's VPC when it has one."""
    channels = [{
        "ChannelType": split,
        "ContentType": f"{CSV};header=present",
        "CompressionType": "None",
        "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix",
            "S3Uri.$": f"States.Format('{{}}{folder}/', "
                       f"$.run.s3.{contract.PROCESSING_OUTPUT_AUTOML})"}},
    } for split, folder in (("training", contract.PROCESSING_OUTPUT_TRAIN),
                            ("validation", contract.PROCESSING_OUTPUT_VALIDATION))]
    security: dict = {"VolumeKmsKeyId": settings.kms_key_id,
                      "EnableInterContainerTrafficEncryption": True}
    if settings.vpc_config:
        security["VpcConfig"] = settings.vpc_config
    return {
        "AutoMLJobName.$": "$.run.job_names.automl",
        "AutoMLJobInputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath.$": "$.automl.output_s3_uri",
                             "KmsKeyId": settings.kms_key_id},
        "AutoMLProblemTypeConfig": {"TabularJobConfig.$": "$.automl.tabular_job_config"},
        "AutoMLJobObjective.$": "$.automl.objective",
        "RoleArn": settings.role_arn,
        "SecurityConfig": security,
        "Tags": jobs.lineage_tags(settings, f"$.run.s3.{contract.PROCESSING_OUTPUT_AUTOML}"),
    }


def candidate_transform_job(settings: jobs.JobSettings) -> dict:
    """CreateTransformJob of the test split through the candidate: the target first in each
    line, dropped for the model by InputFilter `$[1:]` and kept beside the answer by JoinSource
    Input, which is what `process evaluate --candidate` pairs (candidate_predictions.py)."""
    return {
        "TransformJobName.$": "$.run.job_names.candidate_transform",
        "ModelName.$": "$.run.job_names.model",
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri.$": f"States.Format('{{}}{contract.PROCESSING_OUTPUT_TEST}/', "
                           f"$.run.s3.{contract.PROCESSING_OUTPUT_AUTOML})"}},
            "ContentType": CSV, "SplitType": "Line", "CompressionType": "None",
        },
        "TransformOutput": {"S3OutputPath.$": "$.automl.predictions_s3_uri", "Accept": CSV,
                            "AssembleWith": "Line", "KmsKeyId": settings.kms_key_id},
        # One processing-type instance, the key on its volume unless the type has local
        # storage (runtime_scripts/pipeline_input/volumes.py).
        "TransformResources.$": "$.automl.transform_resources",
        "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input"},
        "Tags": jobs.lineage_tags(settings, f"$.run.s3.{contract.PROCESSING_OUTPUT_AUTOML}"),
    }


def candidate_evaluation_job(settings: jobs.JobSettings) -> dict:
    """The use case's `process evaluate --candidate`: the candidate's test predictions against
    the labels beside them, described by preprocessing's feature schema (the transform output)."""
    params = jobs.processing_job(
        settings, job_name_path="$.run.job_names.evaluation", command=["process", "evaluate"],
        inputs=[jobs.processing_input(contract.PROCESSING_INPUT_MODEL, "$.run.s3.transform"),
                jobs.processing_input(contract.PROCESSING_INPUT_PREDICTIONS,
                                      "$.automl.predictions_s3_uri")],
        outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_EVALUATION,
                                        "$.run.s3.evaluation")],
        data_path="$.automl.predictions_s3_uri",
        arguments_path="$.automl.evaluation_arguments")
    params["Environment"] = {**params["Environment"],
                             f"{contract.AUTOML_CANDIDATE_ENV}.$": f"{BEST}.CandidateName"}
    return params


def _container(index: int, environment: str | None) -> dict:
    """The best candidate's container `index`; `environment`, the keys merged over its own."""
    source = f"{BEST}.InferenceContainers[{index}]"
    return {"Image.$": f"{source}.Image", "ModelDataUrl.$": f"{source}.ModelDataUrl",
            "Environment.$": (f"States.JsonMerge({source}.Environment, {environment}, false)"
                              if environment else f"{source}.Environment")}


@dataclass(frozen=True)
class AutoMLBranchProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    execution_role: iam.IRole
    name_prefix: str
    classifier: bool  # the use case's problem type (a regression's containers answer as they are)


class AutoMLBranch(Construct):
    """`entry` follows preprocessing; `then` (given to `chain`) reads the evaluation."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AutoMLBranchProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.states = SdkStates(self, props.frame)
        self.job_arn = self.states.sagemaker_arn("automl-job", f"{props.name_prefix}-*")

    def chain(self, then: sfn.IChainable) -> sfn.IChainable:
        props, states = self.props, self.states
        # Tagged at creation: the create call needs sagemaker:AddTags on the job too.
        start = props.frame.protect(tasks.CallAwsService(
            self, "Start AutoML job", service="sagemaker", action="createAutoMLJobV2",
            parameters=automl_job_request(props.job_settings), iam_resources=[self.job_arn],
            iam_action="sagemaker:CreateAutoMLJobV2",
            additional_iam_statements=[iam.PolicyStatement(actions=["sagemaker:AddTags"],
                                                           resources=[self.job_arn])],
            result_selector={"arn.$": "$.AutoMLJobArn"}, result_path="$.jobs.automl"))
        wait = sfn.Wait(self, "Wait for AutoML job",
                        time=sfn.WaitTime.duration(cdk.Duration.seconds(POLL_SECONDS)))
        describe = states.task("Describe AutoML job", "describeAutoMLJobV2",
                               {"AutoMLJobName.$": "$.run.job_names.automl"},
                               resources=[self.job_arn], result_path=JOB,
                               iam_action="sagemaker:DescribeAutoMLJobV2")
        failed = states.fail(
            "Explain AutoML failure", "AutoMLJobFailed",
            f"States.Format('AutoML job {{}} failed: {{}}', $.run.job_names.automl, "
            f"{JOB}.FailureReason)")
        stopped = states.fail(
            "Explain AutoML stop", "AutoMLJobStopped",
            f"States.Format('AutoML job {{}} was stopped ({{}}) before it chose a candidate', "
            f"$.run.job_names.automl, {JOB}.AutoMLJobSecondaryStatus)")
        start.next(wait).next(describe).next(
            sfn.Choice(self, "AutoML job finished?")
            .when(sfn.Condition.string_equals(f"{JOB}.AutoMLJobStatus", "Completed"),
                  self._containers(then))
            .when(sfn.Condition.string_equals(f"{JOB}.AutoMLJobStatus", "Failed"), failed)
            .when(sfn.Condition.string_equals(f"{JOB}.AutoMLJobStatus", "Stopped"), stopped)
            .otherwise(wait))
        return start

    def _containers(self, then: sfn.IChainable) -> sfn.IChainable:
        """AWS ("Configure inference output in generated containers"): one container in
        ENSEMBLING mode; in HYPERPARAMETER_TUNING mode a regression has two (features,
        algorithm), a classifier three (features, algorithm, label transform), and the keys a
        classifier answers are set on the algorithm container (SAGEMAKER_INFERENCE_OUTPUT) and
        on the label transform (its INPUT and OUTPUT)."""
        output, both = "$.automl.inference_output", "$.automl.inference_input_output"
        variants = ({"ensemble classifier": {"containers": [_container(0, output)]},
                     "tuned classifier": {"containers": [_container(0, None),
                                                         _container(1, output),
                                                         _container(2, both)]}}
                    if self.props.classifier else
                    {"regression": {"containers.$": f"{BEST}.InferenceContainers"}})
        create = self._create_model(then)
        passes = {}
        for variant, parameters in variants.items():
            passes[variant] = sfn.Pass(
                self, f"Candidate containers ({variant})",
                parameters={**parameters, "name.$": f"{BEST}.CandidateName",
                            "objective.$": f"{BEST}.FinalAutoMLJobObjectiveMetric"},
                result_path="$.candidate")
            passes[variant].next(create)
        if not self.props.classifier:
            return passes["regression"]
        return (sfn.Choice(self, "Candidate kind?")
                .when(sfn.Condition.string_equals("$.automl.mode", "ENSEMBLING"),
                      passes["ensemble classifier"])
                .otherwise(passes["tuned classifier"]))

    def _create_model(self, then: sfn.IChainable) -> sfn.IChainable:
        props, frame = self.props, self.props.frame
        request = jobs.model(props.job_settings, container={})
        del request["PrimaryContainer"]
        request["Containers.$"] = "$.candidate.containers"  # a serial inference pipeline
        create = frame.protect(create_model_state(self, request, name_prefix=props.name_prefix))
        transform = frame.protect_job(sagemaker_job_state(
            self, "Transform test split with candidate", TRANSFORM,
            candidate_transform_job(props.job_settings),
            result_selector={"arn.$": "$.TransformJobArn"}, result_path="$.jobs.candidate",
            comment="The held-out test rows through the best candidate, each answer beside its "
                    "row's target"), kind="candidate_transform")
        evaluate = frame.protect_job(sagemaker_job_state(
            self, "Evaluate candidate", PROCESSING, candidate_evaluation_job(props.job_settings),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.evaluation",
            comment="Score the candidate's test predictions with the use case's metrics; judge "
                    "the quality gate conditions; write evaluation.json and report.html"),
            kind="evaluation")
        # What the registry records of the model: the AutoML job trained it, these containers
        # serve it.
        chosen = sfn.Pass(self, "Use candidate model", parameters={
            "training_job_name.$": "$.run.job_names.automl",
            "containers.$": "$.candidate.containers",
            "candidate.$": "$.candidate.name",
        }, result_path="$.model")
        create.next(transform).next(evaluate).next(chosen).next(then)
        return create

    # --- permissions ---------------------------------------------------------------------------
    def grant_job_role(self) -> iam.Policy:
        """What the AutoML job's own role (the execution role it is given) needs beyond a
        training job's: SageMaker's guide for CreateAutoMLJobV2 has the role create, describe
        and stop the processing, training and transform jobs and the models Autopilot runs for
        it (named after the AutoML job, so after the stage prefix), and pass itself to them."""
        props = self.props
        stack = cdk.Stack.of(self)
        resources = [stack.format_arn(service="sagemaker", resource=kind,
                                      resource_name=f"{props.name_prefix}-*")
                     for kind in ("processing-job", "training-job", "transform-job", "model")]
        nouns = ("ProcessingJob", "TrainingJob", "TransformJob")
        policy = iam.Policy(self, "AutoMLJobRolePolicy", statements=[
            iam.PolicyStatement(
                actions=sorted({*(f"sagemaker:{verb}{noun}" for noun in nouns
                                  for verb in ("Create", "Describe", "Stop")),
                                "sagemaker:CreateModel", "sagemaker:DescribeModel",
                                "sagemaker:DeleteModel", "sagemaker:AddTags",
                                "sagemaker:ListTags"}),
                resources=resources),
            iam.PolicyStatement(
                actions=["iam:PassRole"], resources=[props.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
        ])
        policy.attach_to_role(props.execution_role)
        acknowledge_role_policy(
            policy,
            "Autopilot names the jobs and models it runs for an AutoML job after that job, whose "
            "name is derived per execution: only the stage's name prefix is known.",
            wildcard_findings(resources=tuple(in_finding(self, r) for r in resources)))
        return policy

