"""The cross-validation pipeline's optional last step (`final_model: true`): once the gate on the
folds' mean and spread passed, the use case's own preprocessing and training on all the data,
with the folds' hyperparameters, registered in its model package group with the
cross-validated metrics attached.

    keep the folds' run -> the final model's run -> preprocess (all rows) -> train -> metadata
    -> register (ModelQuality: cv_evaluation.json; CustomerMetadataProperties: the run's keys
    plus `cv.<metric>`: mean, std, 95% interval, min, max) -> restore the folds' run

Why these states here and not the training state machine started as a nested execution
(`states:startExecution.sync:2`): the training pipeline splits off a test split, evaluates and
gates on it and registers that split's metrics; what is wanted is the model of all the rows and
the folds' metrics. The states reuse the training pipeline's request builders
(sagemaker_jobs.py) and its registration (model_registry.py) over a `$.run` of the training
pipeline's shape (`run.final`, derived by the first state), in the same execution: one set of
names, one failure path, no second state machine to grant or to wait for.

A built-in algorithm's model would need repacking; cross-validation trains in script mode
(cross_validation_pipeline.py), whose model.tar.gz is already the bundle the training pipeline
registers and the deployment serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.model_registry import register_model_package_state, run_metadata
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import PROCESSING, TRAINING, sagemaker_job_state
from ml_constructs.training_pipeline import MODEL_SELECTOR
from runtime_scripts import contract
from runtime_scripts.common.manifest import Serving

FINAL = "Final model"
# Where the folds' `$.run` waits while the final model's states read theirs.
FOLDS_RUN = "$.cross_validation_run"
METADATA = "$.final_model.metadata"


@dataclass(frozen=True)
class FinalModelProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings  # the folds' (script mode)
    preprocessing: dict  # the folds' preprocessing request (raw, holdout, dataset spec inputs)
    model_package_group_name: str
    serving: Serving  # what the registered model takes and answers (the manifest's)


class FinalModelStates(Construct):
    """`entry`: the states above, ending in their notification and success; every error to
    the frame's failure path."""

    def __init__(self, scope: Construct, construct_id: str, *, props: FinalModelProps) -> None:
        super().__init__(scope, construct_id)
        frame, settings = props.frame, props.job_settings
        keep = sfn.Pass(self, f"{FINAL}: keep the folds' run", input_path="$.run",
                        result_path=FOLDS_RUN)
        own = sfn.Pass(self, f"{FINAL}: its own run", input_path="$.run.final",
                       result_path="$.run",
                       comment="The training pipeline's shape: its request builders read it")
        preprocess = frame.protect_job(sagemaker_job_state(
            self, f"{FINAL}: preprocess", PROCESSING, props.preprocessing,
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.preprocessing",
            comment="The use case's preprocessing of all the rows: the data is also its "
                    "holdout, so every row goes to train or validation",
        ), kind="preprocessing")
        train = frame.protect_job(sagemaker_job_state(
            self, f"{FINAL}: train", TRAINING, jobs.training_job(settings),
            result_selector=MODEL_SELECTOR, result_path="$.model",
            comment="The use case's training on all the rows, the folds' hyperparameters",
        ), kind="training")
        own_keys = run_metadata(settings)
        if len(own_keys) + contract.CV_METADATA_METRICS_MAX > contract.MODEL_PACKAGE_METADATA_MAX:
            raise ValueError(f"{len(own_keys)} metadata keys of the run and up to "
                             f"{contract.CV_METADATA_METRICS_MAX} cv.<metric> keys exceed "
                             f"CreateModelPackage's {contract.MODEL_PACKAGE_METADATA_MAX}")
        metadata = sfn.Pass(self, f"{FINAL}: metadata", parameters=own_keys,
                            result_path=METADATA)
        register = frame.protect(register_model_package_state(
            self, f"{FINAL}: register", settings=settings, serving=props.serving,
            group_name=props.model_package_group_name,
            # The aggregate job wrote `cv.<metric>` values within CreateModelPackage's limits
            # (common/resampling/statistics.py); JsonMerge is shallow, as Step Functions
            # requires (its third argument false).
            customer_metadata=sfn.JsonPath.json_merge(
                sfn.JsonPath.object_at(METADATA),
                sfn.JsonPath.object_at("$.evaluation.document.registry_metadata"))))
        restore = sfn.Pass(self, f"{FINAL}: restore the folds' run", input_path=FOLDS_RUN,
                           result_path="$.run")
        keep.next(own).next(preprocess).next(train).next(metadata).next(register).next(restore)
        self.entry: sfn.IChainable = keep
        notify = frame.notify(
            "Notify final model registered",
            f"{frame.state_machine_name}: cross-validated, final model registered", {
                "status": "REGISTERED",
                "model_package_arn": sfn.JsonPath.string_at("$.registered.arn"),
                "approval_status": sfn.JsonPath.string_at("$.registry.approval_status"),
                "metrics": sfn.JsonPath.object_at("$.evaluation.document.metrics_mean"),
                "report": sfn.JsonPath.format("{}" + contract.CV_REPORT_FILE,
                                              sfn.JsonPath.string_at("$.run.s3.aggregate")),
            })
        restore.next(notify).next(sfn.Succeed(self, f"{FINAL} registered"))
