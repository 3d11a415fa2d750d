"""The cross-validation pipeline: Validate input -> data profile check -> split job -> a
distributed Map over the folds, each running the use case's own preprocessing, training and
evaluation -> aggregate job -> gate on the mean and spread -> with `final_model`, the model of
all the data registered (final_model.py) -> notification
(`<prefix>-<use case>-cross-validation`; README "Cross-validation")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.api_retries import retry_transient_api_errors
from ml_constructs.compliance import in_finding, wildcard_findings
from ml_constructs.distributed_training import sharded_preprocessing
from ml_constructs.fan_out import FanOut, FanOutProps, ItemFrame
from ml_constructs.final_model import FinalModelProps, FinalModelStates
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import (
    ERROR_PATH,
    PROCESSING,
    TRAINING,
    catch_all,
    dataset_spec_choice,
    grant_sagemaker_jobs,
    sagemaker_job_state,
)
from ml_constructs.training_pipeline import MODEL_SELECTOR
from runtime_scripts import contract
from runtime_scripts.common.manifest import Serving
from runtime_scripts.pipeline_input.first_run_profile import CHECK as FIRST_RUN_CHECK

FOLD = "Fold"  # the Map's label and the prefix of its iteration's states


@dataclass(frozen=True)
class CrossValidationPipelineProps:
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
    model_package_group_name: str  # where `final_model` registers
    serving: Serving  # what the final model takes and answers (the manifest's)
    # The bundled dataset spec's target, features, group and stratification, for the first
    # run's profile (pipeline_defaults.first_run_profile_spec).
    profile_spec: dict
    defaults: dict
    platform: dict
    # The manifest's image.sharded_training: each fold's preprocessing writes one train shard
    # per training instance, which the fold's ShardedByS3Key train channel hands out.
    sharded_training: bool = False


class CrossValidationPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 props: CrossValidationPipelineProps, **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        # Each fold runs the use case's own script-mode training: a built-in algorithm's model
        # would need repacking before its evaluation, and what is cross-validated is the use
        # case's training code.
        # Its final model is then the use case's bundle, served by the use case's image alone
        # (not the built-in's serial pipeline, which needs the built-in's own model).
        self.settings = dataclasses.replace(props.job_settings, builtin_training=False,
                                            training_image_uri=props.job_settings.image_uri,
                                            builtin_serving_image_uri=None)
        frame = props.frame
        validate = frame.validate_input(defaults=props.defaults, platform=props.platform)
        split = self._split()
        fan_out = self._fan_out()
        aggregate = self._aggregate()
        validate.next(self._profile_check(dataset_spec_choice(
            self, split, [jobs.processing_input(contract.PROCESSING_INPUT_RAW, "$.run.s3.input")],
            "$.split")))
        split.next(catch_all(fan_out.state, frame.notify_failure))
        fan_out.state.next(aggregate)
        aggregate.next(self._read_result()).next(self._gate())
        self.state_machine = frame.finish(validate, **finish_kwargs)
        fan_out.grant(self.state_machine)
        grant_sagemaker_jobs(self, self.state_machine.role, [PROCESSING, TRAINING],
                             name_prefix=props.name_prefix, execution_role=props.execution_role)
        frame.acknowledge_policy(
            self.state_machine,
            "Reads its use case's data profiles (one per data location, named by a hash of it) "
            "and each execution's cv_evaluation.json under its runs/ prefix; registers the "
            "final model's versions in its own model package group (SageMaker numbers them).",
            wildcard_findings(resources=(
                in_finding(self, props.artifacts_bucket.arn_for_objects(
                    f"{props.profiles_prefix}*")),
                in_finding(self, props.artifacts_bucket.arn_for_objects(
                    f"{props.runs_prefix}*/cross-validation/{contract.CV_EVALUATION_FILE}")),
                in_finding(self, cdk.Stack.of(self).format_arn(
                    service="sagemaker", resource="model-package",
                    resource_name=f"{props.model_package_group_name}/*")),
            )),
        )

    # --- before any job: the data profile ------------------------------------------------------
    def _profile_check(self, then: sfn.IChainable) -> sfn.IChainable:
        """More folds than the smallest class has rows, refused in the first second: with the
        data profile of this data location when one exists (its key is named by a hash of the
        location; runtime_scripts/common/resampling/data_profile.py says why a profile), else,
        on the first run, with the profile the validator makes of small CSV data in the raw
        bucket (runtime_scripts/pipeline_input/first_run_profile.py); for larger data, Parquet
        or another bucket the split job applies the same rule to the data."""
        props, frame = self.props, self.props.frame
        read = tasks.CallAwsService(
            self, "Read data profile", service="s3", action="getObject",
            parameters={"Bucket.$": "$.run.s3.profile_bucket", "Key.$": "$.run.s3.profile_key"},
            iam_resources=[props.artifacts_bucket.arn_for_objects(f"{props.profiles_prefix}*")],
            # Without s3:ListBucket S3 answers a missing key with AccessDenied, not NoSuchKey.
            additional_iam_statements=[iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[props.artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{props.profiles_prefix}*"}})],
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path="$.profile",
            comment="The rows per class of this data location, as the last split counted them",
        )
        none = frame.invoke_validator(
            "Profile the data", {
                "check": FIRST_RUN_CHECK,
                "data_s3_uri": sfn.JsonPath.string_at("$.run.s3.input"),
                "dataset_spec_s3_uri": sfn.JsonPath.string_at("$.data.dataset_spec_s3_uri"),
                "group_column": sfn.JsonPath.string_at("$.cross_validation.group_column"),
                "folds": sfn.JsonPath.number_at("$.cross_validation.folds"),
                "spec": props.profile_spec,
                "readable_bucket": props.raw_bucket.bucket_name,
            }, result_path="$.profile",
            comment="First run on this data: the validator profiles small CSV data itself, "
                    "checks larger data's headers and Parquet footers; otherwise no profile, "
                    "and the split job checks the folds")
        # Catchers match in order: the generic name's transient check first (api_retries.py),
        # then the missing profile, then everything else.
        retry_transient_api_errors(read, not_transient=frame.notify_failure,
                                   error_path=ERROR_PATH)
        read.add_catch(none, errors=["S3.NoSuchKeyException"], result_path=ERROR_PATH)
        catch_all(read, frame.notify_failure)
        profile = "$.profile.document"
        too_many = sfn.Pass(self, "Explain too many folds", parameters={
            "Error": "InvalidPipelineInput",
            # The split job's words for the same rule (common/resampling/folds.py); no quotes,
            # which an intrinsic function's string would have to escape.
            "Cause.$": ("States.Format('cross_validation.folds {} is more than the {} rows of "
                        "the smallest class of {}: every fold must hold out rows of every class "
                        f"(allowed: {contract.CV_MIN_FOLDS} .. {{}})', $.cross_validation.folds, "
                        f"{profile}.minority_count, $.data.input_s3_uri, "
                        f"{profile}.minority_count)"),
        }, result_path=ERROR_PATH)
        too_many.next(frame.notify_failure)
        check = (sfn.Choice(self, "Folds fit the classes?")
                 .when(sfn.Condition.and_(
                     sfn.Condition.is_present(f"{profile}.minority_count"),
                     sfn.Condition.is_numeric(f"{profile}.minority_count"),
                     sfn.Condition.number_greater_than_json_path(
                         "$.cross_validation.folds", f"{profile}.minority_count")), too_many)
                 .otherwise(then))
        read.next(check)
        none.next(check)
        return read

    # --- split, folds, aggregate ---------------------------------------------------------------
    def _split(self) -> sfn.CustomState:
        return self.props.frame.protect_job(sagemaker_job_state(
            self, "Split into folds", PROCESSING,
            jobs.processing_job(
                self.settings, job_name_path="$.run.job_names.split",
                command=["process", "split"], inputs="$.split.inputs",
                outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_FOLDS,
                                                "$.run.s3.folds"),
                         jobs.processing_output("profile", "$.run.s3.profile")],
                data_path="$.run.s3.input",
                arguments_path="$.cross_validation.split_arguments"),
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.split",
            comment="Deal the rows into K folds (stratified, grouped, seeded); write the fold "
                    "list the Map reads",
        ), kind="split")

    def _fan_out(self) -> FanOut:
        props = self.props
        item = ItemFrame(self, "FoldFrame", label=FOLD, index_path="$.run.fold",
                         job_retries=props.frame.job_retries)
        preprocess = item.protect_job(sagemaker_job_state(
            self, f"{FOLD}: preprocess", PROCESSING, self._preprocessing(),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.preprocessing",
            comment="The use case's preprocessing: the fold's held-out rows are its test split",
        ), kind="preprocessing")
        train = item.protect_job(sagemaker_job_state(
            self, f"{FOLD}: train", TRAINING, jobs.training_job(self.settings),
            result_selector=MODEL_SELECTOR, result_path="$.model",
            comment="The use case's training on the fold's training rows",
        ), kind="training")
        evaluate = item.protect_job(sagemaker_job_state(
            self, f"{FOLD}: evaluate", PROCESSING, jobs.evaluation_job(self.settings),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.evaluation",
            comment="The use case's evaluation on the fold's held-out rows",
        ), kind="evaluation")
        done = sfn.Pass(self, f"{FOLD} evaluated", parameters={
            "fold.$": "$.run.fold", "evaluation.$": "$.run.s3.evaluation",
            "training_job.$": "$.model.training_job_name"})
        preprocess.next(train).next(evaluate).next(done)
        return FanOut(self, "Folds", state_id="Cross-validate folds", iteration=preprocess,
                      props=FanOutProps(
                          bucket=props.artifacts_bucket, key=props.key,
                          item_list_bucket_path="$.run.s3.fold_list_bucket",
                          item_list_key_path="$.run.s3.fold_list_key",
                          item_list_objects=f"{props.runs_prefix}*/folds/"
                                            f"{contract.FOLD_LIST_FILE}",
                          results_prefix=props.map_results_prefix,
                          item_selector={
                              "fold.$": "$$.Map.Item.Value",
                              # The first state derived every fold's names and locations.
                              "run.$": "States.ArrayGetItem($.run.folds, $$.Map.Item.Index)",
                              "processing.$": "$.processing",
                              "training.$": "$.training",
                          },
                          max_concurrency_path="$.cross_validation.max_concurrency",
                          tolerated_failure_percentage_path=(
                              "$.cross_validation.tolerated_failure_percentage"),
                          label=FOLD, state_machine_name=props.frame.state_machine_name,
                          result_path="$.fan_out",
                          comment="Each fold a child execution: the use case's own "
                                  "preprocessing, training and evaluation"))

    def _preprocessing(self) -> dict:
        """The use case's preprocessing with a holdout (a fold's, or the final model's: the
        data itself): its rows are the test split, the rest train and validation."""
        request = jobs.preprocessing_job(
            self.settings, data_path="$.run.s3.preprocessing_input",
            inputs=[jobs.processing_input(contract.PROCESSING_INPUT_RAW,
                                          "$.run.s3.preprocessing_input"),
                    jobs.processing_input(contract.PROCESSING_INPUT_HOLDOUT, "$.run.s3.holdout"),
                    jobs.processing_input(contract.PROCESSING_INPUT_CONFIG,
                                          "$.run.s3.dataset_spec")])
        return sharded_preprocessing(request) if self.props.sharded_training else request

    def _aggregate(self) -> sfn.CustomState:
        return self.props.frame.protect_job(sagemaker_job_state(
            self, "Aggregate folds", PROCESSING,
            jobs.processing_job(
                self.settings, job_name_path="$.run.job_names.aggregate",
                command=["process", "aggregate"],
                inputs=[jobs.processing_input(contract.PROCESSING_INPUT_FOLD_LIST,
                                              "$.run.s3.fold_list"),
                        jobs.processing_input(contract.PROCESSING_INPUT_EVALUATIONS,
                                              "$.run.s3.evaluations")],
                outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_AGGREGATE,
                                                "$.run.s3.aggregate")],
                data_path="$.run.s3.input", arguments_path="$.quality_gate.arguments"),
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.aggregate",
            comment="Mean, std, min, max and 95% interval per metric; judge the gate; write "
                    "cv_evaluation.json and cv_report.html",
        ), kind="aggregate")

    def _read_result(self) -> sfn.IChainable:
        props = self.props
        return props.frame.protect(tasks.CallAwsService(
            self, "Read cross-validation", service="s3", action="getObject",
            parameters={"Bucket.$": "$.run.s3.aggregate_bucket",
                        "Key.$": "$.run.s3.aggregate_key"},
            iam_resources=[props.artifacts_bucket.arn_for_objects(
                f"{props.runs_prefix}*/cross-validation/{contract.CV_EVALUATION_FILE}")],
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path="$.evaluation",
        ))

    def _gate(self) -> sfn.IChainable:
        frame = self.props.frame
        verdict = "$.evaluation.document.quality_gate"
        report = sfn.JsonPath.format("{}" + contract.CV_REPORT_FILE,
                                     sfn.JsonPath.string_at("$.run.s3.aggregate"))
        passed = frame.notify("Notify cross-validated", f"{frame.state_machine_name}: passed", {
            "status": "PASSED", "metrics": sfn.JsonPath.object_at(
                "$.evaluation.document.metrics_mean"), "report": report})
        passed.next(sfn.Succeed(self, "Cross-validation passed"))
        final = FinalModelStates(self, "FinalModel", props=FinalModelProps(
            frame=frame, job_settings=self.settings, preprocessing=self._preprocessing(),
            model_package_group_name=self.props.model_package_group_name,
            serving=self.props.serving))
        train_final = (sfn.Choice(self, "Train final model?",
                                  comment="final_model: train on all the data and register it")
                       .when(sfn.Condition.boolean_equals("$.cross_validation.final_model",
                                                          True), final.entry)
                       .otherwise(passed))
        rejected = frame.notify("Notify rejection", f"{frame.state_machine_name}: rejected", {
            "status": "REJECTED",
            "reason": sfn.JsonPath.format("Gate failed: {}",
                                          sfn.JsonPath.string_at(f"{verdict}.failed")),
            "report": report})
        rejected.next(sfn.Succeed(self, "Cross-validation rejected"))
        return (sfn.Choice(self, "Gate on mean and spread",
                           comment="Pass when every condition on the folds' statistics held")
                .when(sfn.Condition.boolean_equals(f"{verdict}.passed", True), train_final)
                .otherwise(rejected))
