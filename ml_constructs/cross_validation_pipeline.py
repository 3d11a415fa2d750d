"""The cross-validation pipeline: Validate input -> data profile check -> split job -> a
distributed Map over the folds, each running the use case's own preprocessing, training and
evaluation -> aggregate job -> gate on the mean and spread -> with `final_model`, the model of
all the data registered (final_model.py) -> notification
(`<prefix>-<use case>-cross-validation`; README "Cross-validation")."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import in_finding, wildcard_findings
from ml_constructs.data_profile_states import DataProfileProps, DataProfileStates
from ml_constructs.fan_out import FanOut, FanOutProps, ItemFrame
from ml_constructs.final_model import FinalModelProps, FinalModelStates
from ml_constructs.pipeline_states import (
    ERROR_PATH,
    PROCESSING,
    TRAINING,
    catch_all,
    dataset_spec_choice,
    grant_sagemaker_jobs,
)
from ml_constructs.resampling_jobs import (
    ItemJobs,
    PipelineJob,
    ResamplingPipelineProps,
    aggregate_job,
    holdout_preprocessing,
    item_iteration,
    pipeline_job,
    script_mode,
)
from runtime_scripts import contract
from runtime_scripts.common.manifest import Serving
from runtime_scripts.pipeline_input.first_run_profile import CHECK as FIRST_RUN_CHECK

FOLD = "Fold"  # the Map's label and the prefix of its iteration's states


@dataclass(frozen=True, kw_only=True)
class CrossValidationPipelineProps(ResamplingPipelineProps):
    model_package_group_name: str  # where `final_model` registers
    serving: Serving  # what the final model takes and answers (the manifest's)


class CrossValidationPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 props: CrossValidationPipelineProps, **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.settings = script_mode(props.job_settings)
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
        """More folds than the smallest class has rows, or than the groups of the column this
        run groups by, refused in the first second: with the data profile of this data location
        when one exists (its key is named by a hash of the location;
        runtime_scripts/common/resampling/data_profile.py says why a profile), else, on the
        first run, with the profile the validator makes of CSV data within its read budget in
        the raw bucket (runtime_scripts/pipeline_input/first_run_profile.py, which refuses too
        many folds for the groups or rows itself); for larger data, Parquet or another bucket
        the split job applies the same rules to the data."""
        props, frame = self.props, self.props.frame
        profile_states = DataProfileStates(self, props=DataProfileProps(
            frame=frame, artifacts_bucket=props.artifacts_bucket,
            profiles_prefix=props.profiles_prefix, raw_bucket=props.raw_bucket,
            check=FIRST_RUN_CHECK, data_path="$.run.s3.input", spec=props.profile_spec,
            request={
                "group_column": sfn.JsonPath.string_at("$.cross_validation.group_column"),
                "folds": sfn.JsonPath.number_at("$.cross_validation.folds"),
            }, result_path="$.profile", read_state_id="Read data profile",
            read_comment="The rows per class of this data location, as the last split "
                         "counted them",
            profile_comment="First run on this data: the validator profiles small CSV data "
                            "itself, checks larger data's headers and Parquet footers; "
                            "otherwise no profile, and the split job checks the folds"))
        profile = "$.profile.document"
        # The split job's words for the same rules (common/resampling/fold_rules.py); no
        # quotes, which an intrinsic function's string would have to escape.
        too_many = self._explain("Explain too many folds", (
            "States.Format('cross_validation.folds {} is more than the {} rows of the smallest "
            "class of {}: every fold must hold out rows of every class (allowed: "
            f"{contract.CV_MIN_FOLDS} .. {{}})', $.cross_validation.folds, "
            f"{profile}.minority_count, $.data.input_s3_uri, {profile}.minority_count)"))
        too_few_groups = self._explain("Explain too many folds for the groups", (
            "States.Format('cross_validation.folds {} is more than the {} groups of {} (column "
            "{}): each group is held out whole in one fold (allowed: "
            f"{contract.CV_MIN_FOLDS} .. {{}})', $.cross_validation.folds, {profile}.groups, "
            f"$.data.input_s3_uri, {profile}.group_column, {profile}.groups)"))
        check = (sfn.Choice(self, "Folds fit the classes?")
                 .when(sfn.Condition.and_(
                     sfn.Condition.is_present(f"{profile}.minority_count"),
                     sfn.Condition.is_numeric(f"{profile}.minority_count"),
                     sfn.Condition.number_greater_than_json_path(
                         "$.cross_validation.folds", f"{profile}.minority_count")), too_many)
                 .when(self._more_folds_than_profiled_groups(profile), too_few_groups)
                 .otherwise(then))
        return profile_states.then(check)

    def _explain(self, state_id: str, cause: str) -> sfn.Pass:
        explain = sfn.Pass(self, state_id, parameters={"Error": "InvalidPipelineInput",
                                                       "Cause.$": cause},
                           result_path=ERROR_PATH)
        explain.next(self.props.frame.notify_failure)
        return explain

    def _more_folds_than_profiled_groups(self, profile: str) -> sfn.Condition:
        """More folds than the profile's groups, when the profile counted the groups of the
        column this run groups by (the input's `group_column`, else the dataset spec's): a
        stored profile may have counted another column's."""
        group = "$.cross_validation.group_column"
        same_column = sfn.Condition.and_(
            sfn.Condition.is_string(group),
            sfn.Condition.string_equals_json_path(f"{profile}.group_column", group))
        if self.props.profile_spec["group_column"]:
            same_column = sfn.Condition.or_(same_column, sfn.Condition.and_(
                sfn.Condition.is_null(group),
                sfn.Condition.string_equals(f"{profile}.group_column",
                                            self.props.profile_spec["group_column"])))
        return sfn.Condition.and_(
            sfn.Condition.is_present(f"{profile}.groups"),
            sfn.Condition.is_numeric(f"{profile}.groups"),
            sfn.Condition.is_present(f"{profile}.group_column"),
            sfn.Condition.is_string(f"{profile}.group_column"),
            sfn.Condition.number_greater_than_json_path("$.cross_validation.folds",
                                                        f"{profile}.groups"),
            same_column)

    # --- split, folds, aggregate ---------------------------------------------------------------
    def _split(self) -> sfn.CustomState:
        return pipeline_job(self, self.props.frame, self.settings, PipelineJob(
            "Split into folds", "split", ["process", "split"], inputs="$.split.inputs",
            outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_FOLDS, "$.run.s3.folds"),
                     jobs.processing_output("profile", "$.run.s3.profile")],
            data_path="$.run.s3.input", arguments_path="$.cross_validation.split_arguments",
            comment="Deal the rows into K folds (stratified, grouped, seeded); write the fold "
                    "list the Map reads"))

    def _fan_out(self) -> FanOut:
        props = self.props
        item = ItemFrame(self, "FoldFrame", label=FOLD, index_path="$.run.fold",
                         job_retries=props.frame.job_retries)
        iteration = item_iteration(self, item, self.settings, ItemJobs(
            preprocessing=self._preprocessing(), evaluation=jobs.evaluation_job(self.settings),
            comments={
                "preprocessing": "The use case's preprocessing: the fold's held-out rows are "
                                 "its test split",
                "training": "The use case's training on the fold's training rows",
                "evaluation": "The use case's evaluation on the fold's held-out rows"},
            result={"fold.$": "$.run.fold", "evaluation.$": "$.run.s3.evaluation",
                    "training_job.$": "$.model.training_job_name"}))
        return FanOut(self, "Folds", state_id="Cross-validate folds", iteration=iteration,
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
        """A fold's, or the final model's (its holdout the data itself)."""
        return holdout_preprocessing(self.settings, raw="$.run.s3.preprocessing_input",
                                     holdout="$.run.s3.holdout", spec="$.run.s3.dataset_spec",
                                     sharded=self.props.sharded_training)

    def _aggregate(self) -> sfn.CustomState:
        return pipeline_job(self, self.props.frame, self.settings, aggregate_job(
            "Aggregate folds", "aggregate", ["process", "aggregate"],
            item_list=(contract.PROCESSING_INPUT_FOLD_LIST, "$.run.s3.fold_list"),
            output=(contract.PROCESSING_OUTPUT_AGGREGATE, "$.run.s3.aggregate"),
            data_path="$.run.s3.input",
            comment="Mean, std, min, max and 95% interval per metric; judge the gate; write "
                    "cv_evaluation.json and cv_report.html"))

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
