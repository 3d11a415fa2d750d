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

from dataclasses import dataclass

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import in_finding, wildcard_findings
from ml_constructs.data_profile_states import DataProfileProps, DataProfileStates
from ml_constructs.fan_out import FanOut, FanOutProps, ItemFrame
from ml_constructs.pipeline_states import (
    PROCESSING,
    TRAINING,
    catch_all,
    dataset_spec_choice,
    grant_sagemaker_jobs,
    read_evaluation_state,
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
from runtime_scripts.pipeline_input.first_run_windows import CHECK as FIRST_RUN_CHECK

# The listing the first state compares with the data's profile: more files than this and the
# check is left to the split job (a listing is one page; a state holds at most 256 KiB).
DATA_LISTING_MAX_KEYS = 100
WINDOW_JOBS = ("preprocessing", "training", "evaluation")
# The item's position in items.json, which lists the windows in order: the window's index.
INDEX = "$$.Map.Item.Index"
WINDOW = "Window"  # the Map's label and the prefix of its iteration's states


@dataclass(frozen=True, kw_only=True)
class BacktestPipelineProps(ResamplingPipelineProps):
    max_job_attempts: int  # job_retries.max_attempts: one name per attempt of each job


class BacktestPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: BacktestPipelineProps,
                 **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.settings = script_mode(props.job_settings)
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
        profile = DataProfileStates(self, props=DataProfileProps(
            frame=props.frame, artifacts_bucket=props.artifacts_bucket,
            profiles_prefix=props.profiles_prefix, raw_bucket=props.raw_bucket,
            check=FIRST_RUN_CHECK, data_path="$.run.s3.raw", spec=props.profile_spec,
            request={"time": sfn.JsonPath.object_at("$.backtest.time")},
            result_path="$.data_check.profile", read_state_id="Read the data's profile",
            read_comment="The files and periods of this data location, as the last window "
                         "split read them",
            profile_comment="First run on this data: the validator profiles small CSV data's "
                            "periods, bounds Parquet data's by its footers' statistics, checks "
                            "larger CSV data's headers; otherwise no profile, and the split "
                            "job checks"))
        check = props.frame.validate_input(
            defaults=props.defaults, platform=props.platform,
            state_id="Check the windows against the data",
            data={"profile": sfn.JsonPath.object_at("$.data_check.profile.document"),
                  "listing": sfn.JsonPath.object_at("$.data_check.listing"),
                  "prefix": sfn.JsonPath.string_at("$.run.s3.data_prefix")},
            comment="The same validation with the data's profile, when the data is the "
                    "profiled one: windows that do not fit are refused before any job runs")
        listing.next(profile.then(check))
        check.next(then)
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
        return pipeline_job(self, self.props.frame, self.settings, PipelineJob(
            "Split windows", "window_split", ["process", "window-split"],
            inputs="$.split_job.inputs", outputs=outputs, data_path="$.run.s3.raw",
            arguments_path="$.split.arguments",
            comment="Cut the data into rolling-origin windows: each window's training rows "
                    "strictly before its cutoff less the gap, its evaluated rows after it"))

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
        return item_iteration(self, item, self.settings, ItemJobs(
            preprocessing=holdout_preprocessing(
                self.settings, raw="$.run.s3.raw", holdout="$.run.s3.holdout",
                spec="$.run.s3.spec", sharded=self.props.sharded_training),
            evaluation=jobs.evaluation_job(self.settings,
                                           arguments_path="$.window_evaluation.arguments"),
            comments={
                "preprocessing": "The use case's preprocessing on the window's training rows; "
                                 "its horizon is the test split",
                "training": "The use case's training on the window's training rows",
                "evaluation": "Score the window's horizon with its model; keep each row's "
                              "prediction"},
            result={"window.$": "$.run.window", "evaluation.$": "$.run.s3.evaluation"},
            result_comment="A small result: the aggregate reads the evaluations from S3"))

    # --- aggregate and gate ----------------------------------------------------------------------
    def _aggregate(self) -> sfn.CustomState:
        return pipeline_job(self, self.props.frame, self.settings, aggregate_job(
            "Aggregate windows", "window_aggregate", ["process", "window-aggregate"],
            item_list=(contract.PROCESSING_INPUT_WINDOW_PLAN, "$.run.s3.plan"),
            output=(contract.PROCESSING_OUTPUT_BACKTEST, "$.run.s3.backtest"),
            data_path="$.run.s3.raw",
            comment="Each metric per window, over the windows and by age, against the "
                    "baseline; judge the gate on the means; write backtest_report.html"))

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
