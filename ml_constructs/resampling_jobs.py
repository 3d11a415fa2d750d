"""The jobs the resampling pipelines (cross-validation, backtest) share in shape: their own
processing jobs (the split and the aggregate, run on the pipeline's state) and each item's
iteration (a fold's or a window's): the use case's preprocessing, training and evaluation, in
the item's failure path (fan_out.ItemFrame).

    item: "<label>: preprocess" -> "<label>: train" -> "<label>: evaluate" -> "<label> evaluated"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.distributed_training import sharded_preprocessing
from ml_constructs.fan_out import ItemFrame
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import PROCESSING, TRAINING, sagemaker_job_state
from ml_constructs.training_pipeline import MODEL_SELECTOR
from runtime_scripts import contract

PROCESSING_RESULT = {"arn.$": "$.ProcessingJobArn"}


@dataclass(frozen=True, kw_only=True)
class ResamplingPipelineProps:
    """What both resampling pipelines are built from (each adds its own fields)."""

    frame: PipelineFrame
    job_settings: jobs.JobSettings
    execution_role: iam.IRole
    artifacts_bucket: s3.IBucket
    # The one bucket whose data the validator profiles on a first run (its role reads it).
    raw_bucket: s3.IBucket
    key: kms.IKey
    name_prefix: str  # the stage's: every job name starts with it
    runs_prefix: str  # the artifacts bucket's folder of this use case's executions
    profiles_prefix: str  # the artifacts bucket's folder of this use case's data profiles
    map_results_prefix: str  # where the Map writes its results
    # The bundled dataset spec's fields a first run's profile needs
    # (pipeline_defaults.first_run_profile_spec, first_run_time_spec).
    profile_spec: dict
    defaults: dict
    platform: dict
    # The manifest's image.sharded_training: each item's preprocessing writes one train shard
    # per training instance, which the item's ShardedByS3Key train channel hands out.
    sharded_training: bool = False


def script_mode(settings: jobs.JobSettings) -> jobs.JobSettings:
    """Each item runs the use case's own script-mode training: what is resampled is the use
    case's training code (a built-in algorithm's model would need repacking before its
    evaluation). The final model is then the use case's bundle, served by the use case's image
    alone (not the built-in's serial pipeline, which needs the built-in's own model)."""
    return dataclasses.replace(settings, builtin_training=False,
                               training_image_uri=settings.image_uri,
                               builtin_serving_image_uri=None)


def holdout_preprocessing(settings: jobs.JobSettings, *, raw: str, holdout: str, spec: str,
                          sharded: bool) -> dict:
    """The use case's preprocessing with a holdout (a fold's, a window's horizon, or the final
    model's: the data itself): its rows are the test split, the raw rows train and validation.
    `sharded`: the manifest's image.sharded_training, one train shard per training instance,
    which the ShardedByS3Key train channel hands out."""
    request = jobs.preprocessing_job(settings, data_path=raw, inputs=[
        jobs.processing_input(contract.PROCESSING_INPUT_RAW, raw),
        jobs.processing_input(contract.PROCESSING_INPUT_HOLDOUT, holdout),
        jobs.processing_input(contract.PROCESSING_INPUT_CONFIG, spec)])
    return sharded_preprocessing(request) if sharded else request


@dataclass(frozen=True)
class PipelineJob:
    """One of the pipeline's own processing jobs: `process <command...>` of the use case's
    image, named by `$.run.job_names.<kind>`."""

    state_id: str
    kind: str
    command: list[str]
    inputs: list[dict] | str
    outputs: list[dict]
    data_path: str
    arguments_path: str
    comment: str


def aggregate_job(state_id: str, kind: str, command: list[str], *, item_list: tuple[str, str],
                  output: tuple[str, str], data_path: str, comment: str) -> PipelineJob:
    """The aggregate: the item list (channel, S3 path) and every item's evaluation in, the
    pipeline's verdict out (channel, S3 path), judged by the quality gate's arguments."""
    return PipelineJob(
        state_id, kind, command,
        inputs=[jobs.processing_input(*item_list),
                jobs.processing_input(contract.PROCESSING_INPUT_EVALUATIONS,
                                      "$.run.s3.evaluations")],
        outputs=[jobs.processing_output(*output)], data_path=data_path,
        arguments_path="$.quality_gate.arguments", comment=comment)


def pipeline_job(scope: Construct, frame: PipelineFrame, settings: jobs.JobSettings,
                 job: PipelineJob) -> sfn.CustomState:
    return frame.protect_job(sagemaker_job_state(
        scope, job.state_id, PROCESSING,
        jobs.processing_job(settings, job_name_path=f"$.run.job_names.{job.kind}",
                            command=job.command, inputs=job.inputs, outputs=job.outputs,
                            data_path=job.data_path, arguments_path=job.arguments_path),
        result_selector=PROCESSING_RESULT, result_path=f"$.jobs.{job.kind}",
        comment=job.comment), kind=job.kind)


@dataclass(frozen=True)
class ItemJobs:
    """What one item's iteration runs: the requests of its preprocessing and evaluation (its
    training is the use case's own), a comment per job, and the item's small result."""

    preprocessing: dict
    evaluation: dict
    comments: dict  # "preprocessing", "training", "evaluation" -> the state's comment
    result: dict  # the last Pass state's parameters: what the Map's result holds per item
    result_comment: str | None = None


def item_iteration(scope: Construct, item: ItemFrame, settings: jobs.JobSettings,
                   spec: ItemJobs) -> sfn.IChainable:
    """The item's states, in its own failure path; the first one is the iteration's start."""
    label = item.label
    preprocess = item.protect_job(sagemaker_job_state(
        scope, f"{label}: preprocess", PROCESSING, spec.preprocessing,
        result_selector=PROCESSING_RESULT, result_path="$.jobs.preprocessing",
        comment=spec.comments["preprocessing"]), kind="preprocessing")
    train = item.protect_job(sagemaker_job_state(
        scope, f"{label}: train", TRAINING, jobs.training_job(settings),
        result_selector=MODEL_SELECTOR, result_path="$.model",
        comment=spec.comments["training"]), kind="training")
    evaluate = item.protect_job(sagemaker_job_state(
        scope, f"{label}: evaluate", PROCESSING, spec.evaluation,
        result_selector=PROCESSING_RESULT, result_path="$.jobs.evaluation",
        comment=spec.comments["evaluation"]), kind="evaluation")
    done = sfn.Pass(scope, f"{label} evaluated", parameters=spec.result,
                    comment=spec.result_comment)
    preprocess.next(train).next(evaluate).next(done)
    return preprocess
