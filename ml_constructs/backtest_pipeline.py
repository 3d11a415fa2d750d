"""The backtest pipeline: rolling-origin windows over time-ordered data, each window the use
case's own preprocessing, training and evaluation, then one verdict over all of them.

    Validate input -> (the data's files listed, its profile read: windows that do not fit are
    refused within the first second when the data is what was profiled) -> Split windows
    (processing: the plan, each window's rows, the data's profile) -> Backtest windows (a
    distributed Map over the plan's items: preprocess, train, evaluate each window) -> Aggregate
    windows (processing: per window, overall, by age, against the baseline; backtest_report.html)
    -> Read evaluation (backtest.json) -> Backtest gate -> notification.

The windows fan out through the platform's fan-out construct (ml_constructs/fan_out.py, as
cross-validation's folds): a distributed Map over the plan's items.json, each window a child
execution whose jobs fail into the item's own failure path; the Map fails past
`tolerated_failure_percentage` with every failed window's index, and the aggregate judges the
windows that were evaluated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import (
    ERROR_PATH,
    PROCESSING,
    TRAINING,
    catch_all,
    dataset_spec_choice,
    grant_sagemaker_jobs,
    read_evaluation_state,
    sagemaker_job_state,
)
from ml_constructs.training_pipeline import MODEL_SELECTOR
from runtime_scripts import contract
from runtime_scripts.pipeline_input.first_run_windows import CHECK as FIRST_RUN_CHECK

# The listing the first state compares with the data's profile: more files than this and the
# check is left to the split job (a listing is one page; a state holds at most 256 KiB).
DATA_LISTING_MAX_KEYS = 100
WINDOW_JOBS = ("preprocessing", "training", "evaluation")
# The item's position in items.json, which lists the windows in order: the window's index.
INDEX = "$$.Map.Item.Index"
WINDOW = "Window"  # the Map's label and the prefix of its iteration's states


@dataclass(frozen=True)
class BacktestPipelineProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    execution_role: iam.IRole
    raw_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    key: kms.IKey
    name_prefix: str  # the stage's: every job name starts with it
    runs_prefix: str  # the artifacts bucket's folder of this use case's executions
    profiles_prefix: str  # and of its data profiles
    map_results_prefix: str  # where the Map writes its results
    max_job_attempts: int  # job_retries.max_attempts: one name per attempt of each job
    # The bundled dataset spec's name, target and time key, for a first run's profile
    # (pipeline_defaults.first_run_time_spec).
    profile_spec: dict
    defaults: dict
    platform: dict
    # The manifest's image.sharded_training: each window's preprocessing writes one train
    # shard per training instance, which the window's ShardedByS3Key train channel hands out.
    sharded_training: bool = False


class BacktestPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: BacktestPipelineProps,
                 **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        # Each window runs the use case's own script-mode training, as cross-validation's
        # folds do: what is backtested is the use case's training code.
        # Its final model is then the use case's bundle, served by the use case's image alone
        # (not the built-in's serial pipeline, which needs the built-in's own model).
        self.settings = dataclasses.replace(props.job_settings, builtin_training=False,
                                            training_image_uri=props.job_settings.image_uri,
                                            builtin_serving_image_uri=None)
        frame = props.frame
        validate = frame.validate_input(defaults=props.defaults, platform=props.platform)
        split = self._split()
        fan_out = self._windows()
        aggregate = self._aggregate()
        validate.next(self._data_check(then=dataset_spec_choice(
            self, split, [jobs.processing_input(contract.PROCESSING_INPUT_RAW, "$.run.s3.raw")],
            "$.split_job")))
        split.next(catch_all(fan_out.state, frame.notify_failure))
        fan_out.state.next(aggregate)
        aggregate.next(frame.protect(read_evaluation_state(
            self, props.artifacts_bucket, f"{props.runs_prefix}*"))).next(self._gate())
        self.state_machine = frame.finish(validate, **finish_kwargs)
        fan_out.grant(self.state_machine)
        grant_sagemaker_jobs(self, self.state_machine.role, [PROCESSING, TRAINING],
                             name_prefix=props.name_prefix, execution_role=props.execution_role)
        frame.acknowledge_policy(
            self.state_machine,
            "Reads backtest.json under its use case's per-execution runs/ prefix and the data "
            "profiles under its own profiles/ prefix (one per data location).",
            wildcard_findings(resources=(
                in_finding(self, props.artifacts_bucket.arn_for_objects(f"{props.runs_prefix}*")),
                in_finding(self, props.artifacts_bucket.arn_for_objects(
                    f"{props.profiles_prefix}*")),
            )),
        )

    # --- does the request fit the data? --------------------------------------------------------
    def _data_check(self, *, then: sfn.IChainable) -> sfn.IChainable:
        """The data's files and their profile, then the first state's rules once more with
        them. Never profiled (the first run on this location): the validator's own profile of
        the data (runtime_scripts/pipeline_input/first_run_windows.py). Data outside the stage's
        raw bucket (which this role may not list), or that cannot be profiled cheaply, leaves
        the check to the split job."""
        props = self.props
        skip = sfn.Pass(self, "No data profile to check against",
                        result_path=sfn.JsonPath.DISCARD,
                        comment="The split job checks the windows against the data itself")
        skip.next(then)
        listing = props.frame.protect(tasks.CallAwsService(
            self, "List the data's files", service="s3", action="listObjectsV2",
            parameters={"Bucket.$": "$.run.s3.data_bucket", "Prefix.$": "$.run.s3.data_prefix",
                        "MaxKeys": DATA_LISTING_MAX_KEYS},
            iam_action="s3:ListBucket", iam_resources=[props.raw_bucket.bucket_arn],
            result_path="$.data_check.listing"))
        profile = tasks.CallAwsService(
            self, "Read the data's profile", service="s3", action="getObject",
            parameters={"Bucket.$": "$.run.s3.profile_bucket", "Key.$": "$.run.s3.profile_key"},
            iam_resources=[props.artifacts_bucket.arn_for_objects(f"{props.profiles_prefix}*")],
            # Without s3:ListBucket S3 answers a missing key with AccessDenied, not NoSuchKey.
            additional_iam_statements=[iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[props.artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{props.profiles_prefix}*"}})],
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path="$.data_check.profile")
        # Catchers match in order: the generic name's transient check first (api_retries.py),
        # then never profiled (the first backtest of this data), then everything else.
        retry_transient_api_errors(profile, not_transient=props.frame.notify_failure,
                                   error_path=ERROR_PATH)
        first_run = props.frame.invoke_validator(
            "Profile the data", {
                "check": FIRST_RUN_CHECK,
                "data_s3_uri": sfn.JsonPath.string_at("$.run.s3.raw"),
                "dataset_spec_s3_uri": sfn.JsonPath.string_at("$.data.dataset_spec_s3_uri"),
                "time": sfn.JsonPath.object_at("$.backtest.time"),
                "spec": props.profile_spec,
                "readable_bucket": props.raw_bucket.bucket_name,
            }, result_path="$.data_check.profile",
            comment="First run on this data: the validator profiles small CSV data's periods, "
                    "bounds Parquet data's by its footers' statistics, checks larger CSV "
                    "data's headers; otherwise no profile, and the split job checks")
        profile.add_catch(first_run, errors=["S3.NoSuchKeyException"],
                          result_path=sfn.JsonPath.DISCARD)
        catch_all(profile, props.frame.notify_failure)
        check = props.frame.validate_input(
            defaults=props.defaults, platform=props.platform,
            state_id="Check the windows against the data",
            data={"profile": sfn.JsonPath.object_at("$.data_check.profile.document"),
                  "listing": sfn.JsonPath.object_at("$.data_check.listing"),
                  "prefix": sfn.JsonPath.string_at("$.run.s3.data_prefix")},
            comment="The same validation with the data's profile, when the data is the "
                    "profiled one: windows that do not fit are refused before any job runs")
        listing.next(profile).next(check).next(then)
        first_run.next(check)
        return (sfn.Choice(self, "Data in the raw bucket?")
                .when(sfn.Condition.string_equals("$.run.s3.data_bucket",
                                                  props.raw_bucket.bucket_name), listing)
                .otherwise(skip))

    # --- split ---------------------------------------------------------------------------------
    def _split(self) -> sfn.CustomState:
        outputs = [jobs.processing_output(name, f"$.run.s3.{path}") for name, path in (
            (contract.PROCESSING_OUTPUT_WINDOW_PLAN, "plan"),
            (contract.PROCESSING_OUTPUT_WINDOWS, "windows"),
            (contract.PROCESSING_OUTPUT_DATA_PROFILE, "profile"),
            (contract.PROCESSING_OUTPUT_WINDOW_SPEC, "spec"))]
        return self.props.frame.protect_job(sagemaker_job_state(
            self, "Split windows", PROCESSING,
            jobs.processing_job(self.settings, job_name_path="$.run.job_names.window_split",
                                command=["process", "window-split"],
                                inputs="$.split_job.inputs", outputs=outputs,
                                data_path="$.run.s3.raw", arguments_path="$.split.arguments"),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.window_split",
            comment="Cut the data into rolling-origin windows: each window's training rows "
                    "strictly before its cutoff less the gap, its evaluated rows after it",
        ), kind="window_split")

    # --- the windows -----------------------------------------------------------------------------
    def _windows(self) -> FanOut:
        props = self.props
        return FanOut(self, "Windows", state_id="Backtest windows", iteration=self._window(),
                      props=FanOutProps(
                          bucket=props.artifacts_bucket, key=props.key,
                          item_list_bucket_path="$.run.s3.items_bucket",
                          item_list_key_path="$.run.s3.items_key",
                          item_list_objects=f"{props.runs_prefix}*/backtest/"
                                            f"{contract.PROCESSING_OUTPUT_WINDOW_PLAN}/"
                                            f"{contract.WINDOW_ITEMS_FILE}",
                          results_prefix=props.map_results_prefix,
                          item_selector=self._window_state(),
                          max_concurrency_path="$.backtest.max_concurrency",
                          tolerated_failure_percentage_path=(
                              "$.backtest.tolerated_failure_percentage"),
                          label=WINDOW, state_machine_name=props.frame.state_machine_name,
                          result_path="$.fan_out",
                          comment="Each window a child execution: the use case's own "
                                  "preprocessing, training and evaluation"))

    def _window_state(self) -> dict:
        """What one window's iteration sees: the pipeline's sections, and a `run` with the
        window's own S3 locations and job names (the validator's, with '-w<index>')."""
        def under(prefix: str, path: str = "") -> str:
            return f"States.Format('{{}}{{}}/{path}', $.run.s3.{prefix}, {INDEX})"

        def named(name: str) -> str:
            return f"States.Format('{{}}-w{{}}', {name}, {INDEX})"

        attempts = self.props.max_job_attempts
        s3_paths = {
            "raw.$": under("windows", "train/"), "holdout.$": under("windows", "test/"),
            "spec.$": "$.run.s3.spec",
            **{f"{name}.$": under("window_runs", f"preprocessing/{name}/")
               for name in jobs.PREPROCESSING_OUTPUTS},
            "model_output.$": under("window_runs", "training/"),
            "checkpoints.$": under("window_runs", "checkpoints/"),
            "evaluation.$": under("evaluations"),
        }
        # Each channel's {"S3Uri": ...} (its folder, or the manifest object in it), what the
        # training request merges into its S3DataSource (sagemaker_jobs.channel_data_source).
        channel_sources = {name: {"S3Uri.$": (
            f"States.Format('{{}}{{}}/preprocessing/{name}/{{}}', $.run.s3.window_runs, {INDEX}, "
            f"$.training.channel_config.{name}.object)")} for name in jobs.CHANNELS}
        return {
            "processing.$": "$.processing",
            "training.$": "$.training",
            "window_evaluation.$": "$.window_evaluation",
            "run": {
                "execution_name.$": "$.run.execution_name",
                "window.$": INDEX,
                "s3": s3_paths,
                "channel_sources": channel_sources,
                "job_names": {f"{kind}.$": named(f"$.run.item_job_names.{kind}")
                              for kind in WINDOW_JOBS},
                "job_attempts": {kind: {"attempt": 1, "names.$": "States.Array({})".format(
                    ", ".join(named(f"States.ArrayGetItem($.run.item_job_attempts.{kind}.names, "
                                    f"{n})") for n in range(attempts)))}
                                 for kind in WINDOW_JOBS},
            },
        }

    def _window(self) -> sfn.IChainable:
        item = ItemFrame(self, "WindowFrame", label=WINDOW, index_path="$.run.window",
                         job_retries=self.props.frame.job_retries)
        request = jobs.preprocessing_job(self.settings, data_path="$.run.s3.raw", inputs=[
            jobs.processing_input(contract.PROCESSING_INPUT_RAW, "$.run.s3.raw"),
            jobs.processing_input(contract.PROCESSING_INPUT_HOLDOUT, "$.run.s3.holdout"),
            jobs.processing_input(contract.PROCESSING_INPUT_CONFIG, "$.run.s3.spec")])
        if self.props.sharded_training:
            request = sharded_preprocessing(request)
        preprocess = item.protect_job(sagemaker_job_state(
            self, f"{WINDOW}: preprocess", PROCESSING, request,
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.preprocessing",
            comment="The use case's preprocessing on the window's training rows; its horizon "
                    "is the test split",
        ), kind="preprocessing")
        train = item.protect_job(sagemaker_job_state(
            self, f"{WINDOW}: train", TRAINING, jobs.training_job(self.settings),
            result_selector=MODEL_SELECTOR, result_path="$.model",
            comment="The use case's training on the window's training rows",
        ), kind="training")
        evaluate = item.protect_job(sagemaker_job_state(
            self, f"{WINDOW}: evaluate", PROCESSING,
            jobs.evaluation_job(self.settings, arguments_path="$.window_evaluation.arguments"),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.evaluation",
            comment="Score the window's horizon with its model; keep each row's prediction",
        ), kind="evaluation")
        done = sfn.Pass(self, f"{WINDOW} evaluated", parameters={
            "window.$": "$.run.window", "evaluation.$": "$.run.s3.evaluation"},
            comment="A small result: the aggregate reads the evaluations from S3")
        preprocess.next(train).next(evaluate).next(done)
        return preprocess

    # --- aggregate and gate ----------------------------------------------------------------------
    def _aggregate(self) -> sfn.CustomState:
        return self.props.frame.protect_job(sagemaker_job_state(
            self, "Aggregate windows", PROCESSING,
            jobs.processing_job(
                self.settings, job_name_path="$.run.job_names.window_aggregate",
                command=["process", "window-aggregate"],
                inputs=[jobs.processing_input(contract.PROCESSING_INPUT_WINDOW_PLAN,
                                              "$.run.s3.plan"),
                        jobs.processing_input(contract.PROCESSING_INPUT_EVALUATIONS,
                                              "$.run.s3.evaluations")],
                outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_BACKTEST,
                                                "$.run.s3.backtest")],
                data_path="$.run.s3.raw", arguments_path="$.quality_gate.arguments"),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.jobs.aggregate",
            comment="Each metric per window, over the windows and by age, against the "
                    "baseline; judge the gate on the means; write backtest_report.html",
        ), kind="window_aggregate")

    def _gate(self) -> sfn.IChainable:
        frame = self.props.frame
        verdict = "$.evaluation.document.quality_gate"
        passed = frame.notify("Notify backtest passed", f"{frame.state_machine_name}: passed", {
            "status": "PASSED",
            "metrics": sfn.JsonPath.object_at("$.evaluation.document.metrics"),
            "report": sfn.JsonPath.format("{}" + contract.BACKTEST_REPORT_FILE,
                                          sfn.JsonPath.string_at("$.run.s3.backtest")),
        })
        passed.next(sfn.Succeed(self, "Backtest passed"))
        reason = sfn.Pass(self, "Explain backtest rejection", parameters={
            "status": "REJECTED",
            "reason.$": ("States.Format('Backtest gate failed: {}; mean metrics over the "
                         f"windows: {{}}', {verdict}.failed, "
                         "States.JsonToString($.evaluation.document.metrics))"),
        }, result_path="$.outcome")
        rejected = frame.notify("Notify backtest rejection",
                                f"{frame.state_machine_name}: gate failed", {
                                    "status": "REJECTED",
                                    "reason": sfn.JsonPath.string_at("$.outcome.reason"),
                                    "report": sfn.JsonPath.string_at("$.run.s3.backtest")})
        reason.next(rejected).next(sfn.Succeed(self, "Backtest failed its gate"))
        return (sfn.Choice(self, "Backtest gate",
                           comment="Pass when every condition held on the windows' means")
                .when(sfn.Condition.boolean_equals(f"{verdict}.passed", True), passed)
                .otherwise(reason))
