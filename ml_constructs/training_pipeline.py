"""The training pipeline: optional Glue ETL -> preprocessing -> training or tuning -> evaluation ->
quality gate -> model -> model package -> notification (ML Max's training pipeline, seed 004)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import distributed_training
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.automl_branch import AutoMLBranch, AutoMLBranchProps, automl_preprocessing_job
from ml_constructs.compliance import in_finding, wildcard_findings
from ml_constructs.data_wrangler import DataWranglerProps, DataWranglerStates, flows_prefix
from ml_constructs.model_registry import register_model_package_state, run_metadata
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import (
    PROCESSING,
    TRAINING,
    TRANSFORM,
    TUNING,
    create_model_state,
    dataset_spec_choice,
    grant_sagemaker_jobs,
    read_evaluation_state,
    sagemaker_job_state,
)
from ml_constructs.training_rules import TrainingRuleProps, TrainingRuleStates
from runtime_scripts import contract
from runtime_scripts.common.manifest import Serving
from runtime_scripts.common.training_rules import TrainingRules

# What the state keeps of a finished training job, whichever branch (training or tuning) ran.
MODEL_SELECTOR = {
    "training_job_name.$": "$.TrainingJobName",
    "artifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
    "hyperparameters.$": "$.HyperParameters",
}


@dataclass(frozen=True)
class TrainingPipelineProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    execution_role: iam.IRole
    artifacts_bucket: s3.IBucket
    model_package_group_name: str
    name_prefix: str  # the stage's: every job and model name starts with it
    runs_prefix: str  # the artifacts bucket's folder of this use case's executions
    glue_job_name: str | None
    serving: Serving  # what the registered model takes and answers (the manifest's)
    defaults: dict
    platform: dict
    region: str  # the stage's: Data Wrangler's image URI is per region
    # The use case's training rules, judged after training (None: training.rules is "off"),
    # and the Debugger members of its training job (ml_constructs/training_rules.py).
    training_rules: TrainingRules | None = None
    debugger_request: dict | None = None
    sharded_training: bool = False  # the manifest's image.sharded_training (script mode)


class TrainingPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: TrainingPipelineProps,
                 **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        # No training job in the AutoML branch, so no curve for the rules to judge.
        self.training_rules = None if props.job_settings.automl_training else props.training_rules
        frame = props.frame
        validate = frame.validate_input(defaults=props.defaults, platform=props.platform)
        preprocess_entry, preprocess = self._preprocess()
        # A Data Wrangler flow named in the input: checked first, run before preprocessing. Only
        # for a use case whose data is a table of target and features (what a flow writes);
        # the first state refuses a flow for any other.
        if props.platform.get("dataset_spec_columns") is None:
            validate.next(self._optional_glue(preprocess_entry))
        else:
            wrangler = DataWranglerStates(self, "DataWrangler", props=DataWranglerProps(
                frame=frame, job_settings=props.job_settings,
                artifacts_bucket=props.artifacts_bucket, use_case=props.job_settings.use_case,
                region=props.region))
            validate.next(wrangler.check_states(
                self._optional_glue(wrangler.job_states(preprocess_entry))))
        read_evaluation = self._read_evaluation()
        read_evaluation.next(self._quality_gate())
        automl = props.job_settings.automl_training
        if automl:  # Autopilot in place of training (a synth-time choice, like built-in)
            self.automl = AutoMLBranch(self, "AutoML", props=AutoMLBranchProps(
                frame=frame, job_settings=props.job_settings,
                execution_role=props.execution_role, name_prefix=props.name_prefix,
                classifier=props.platform["automl"]["problem_type"] != "Regression"))
            preprocess.next(self.automl.chain(read_evaluation))
        else:
            evaluate = self._evaluate()
            # Built-in XGBoost (a synth-time choice): repack its model into our bundle first,
            # so evaluation, the registry and serving see the same model format as in script
            # mode.
            trained = (self._package_builtin_model(evaluate)
                       if props.job_settings.builtin_training else evaluate)
            if self.training_rules is None:
                preprocess.next(self._train_or_tune(trained))
            else:
                rules = TrainingRuleStates(
                    self, "TrainingRules", then=trained, props=TrainingRuleProps(
                        frame=frame, job_settings=props.job_settings,
                        artifacts_bucket=props.artifacts_bucket, runs_prefix=props.runs_prefix,
                        name_prefix=props.name_prefix, rules=self.training_rules,
                        debugger_request=props.debugger_request or {}))
                preprocess.next(self._train_or_tune(
                    rules.after_tuning, after_training_job=rules.after_training_job))
            evaluate.next(read_evaluation)
        self.state_machine = frame.finish(validate, **finish_kwargs)
        grant_sagemaker_jobs(self, self.state_machine.role,
                             [PROCESSING, TRANSFORM] if automl else [PROCESSING, TRAINING, TUNING],
                             name_prefix=props.name_prefix, execution_role=props.execution_role)
        if automl:
            self.automl.grant_job_role()
        stack = cdk.Stack.of(self)
        frame.acknowledge_policy(
            self.state_machine,
            "Reads evaluation.json under its use case's per-execution runs/ prefix; describes "
            "the best training job of a tuning run (named by SageMaker after the stage prefix); "
            "registers versions in its own model package group; creates models named after the "
            "stage prefix; reads the Data Wrangler flows under its use case's flows prefix (the "
            "execution input names one); starts and describes AutoML jobs named after the stage "
            "prefix (the AutoML branch).",
            wildcard_findings(resources=(
                in_finding(self, props.artifacts_bucket.arn_for_objects(
                    f"{props.runs_prefix}*")),
                in_finding(self, props.artifacts_bucket.arn_for_objects(
                    f"{flows_prefix(props.job_settings.use_case)}*")),
                in_finding(self, stack.format_arn(service="sagemaker", resource="training-job",
                                                  resource_name=f"{props.name_prefix}-*")),
                in_finding(self, stack.format_arn(
                    service="sagemaker", resource="model-package",
                    resource_name=f"{props.model_package_group_name}/*")),
                in_finding(self, stack.format_arn(service="sagemaker", resource="model",
                                                  resource_name=f"{props.name_prefix}-*")),
                *((in_finding(self, self.automl.job_arn),) if automl else ()),
            )),
        )

    # --- data ----------------------------------------------------------------------------------
    def _optional_glue(self, then: sfn.IChainable) -> sfn.IChainable:
        if self.props.glue_job_name is None:
            return then
        glue = self.props.frame.protect(tasks.GlueStartJobRun(
            self, "Run Glue ETL",
            glue_job_name=self.props.glue_job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object({
                "--input_path": sfn.JsonPath.string_at("$.data.raw_s3_uri"),
                "--output_path": sfn.JsonPath.string_at("$.data.curated_s3_uri"),
            }),
            result_selector={"job_run_id.$": "$.Id", "state.$": "$.JobRunState"},
            result_path="$.jobs.glue",
            comment="Cast, deduplicate and write partitioned Parquet to the curated bucket",
        ))
        glue.next(then)
        return (sfn.Choice(self, "Run Glue ETL?")
                .when(sfn.Condition.boolean_equals("$.data.run_glue", True), glue)
                .otherwise(then))

    def _preprocess(self) -> tuple[sfn.IChainable, sfn.CustomState]:
        """The preprocessing job, entered through a choice that adds the optional dataset spec
        input (a processing input cannot be null, so the inputs list is built per case)."""
        settings = self.props.job_settings
        build = automl_preprocessing_job if settings.automl_training else jobs.preprocessing_job
        request = build(settings, inputs="$.preprocessing.inputs",
                        data_path="$.run.s3.preprocessing_input")
        if self.props.sharded_training:
            request = distributed_training.sharded_preprocessing(request)
        job = self.props.frame.protect_job(sagemaker_job_state(
            self, "Preprocess data", PROCESSING, request,
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.preprocessing",
            comment="Validate, clean, encode and split the data; fit the transform on train",
        ), kind="preprocessing")
        raw = jobs.processing_input(contract.PROCESSING_INPUT_RAW, "$.run.s3.preprocessing_input")
        return dataset_spec_choice(self, job, [raw], "$.preprocessing"), job

    # --- training ------------------------------------------------------------------------------
    def _train_or_tune(self, then: sfn.IChainable, *,
                       after_training_job: sfn.IChainable | None = None) -> sfn.IChainable:
        """Training or tuning, then `then` (`after_training_job` after a single job)."""
        settings = self.props.job_settings
        # A sharded use case's train channel is ShardedByS3Key through its channel options
        # (the manifest's default, `training.channel_config`), like any other channel option.
        training = {**jobs.training_job(settings), **(self.props.debugger_request or {})}
        # Served from the built-in's own container: every state that stores `$.model` keeps
        # the built-in's model.tar.gz as `builtin_artifacts` (the model and package read it).
        selector = {**MODEL_SELECTOR, "builtin_artifacts.$": "$.ModelArtifacts.S3ModelArtifacts"} \
            if settings.builtin_serving_image_uri else MODEL_SELECTOR
        train = self.props.frame.protect_job(sagemaker_job_state(
            self, "Train model", TRAINING, training,
            result_selector=selector, result_path="$.model",
            comment="One training job with the input's hyperparameters",
        ), kind="training")
        best = self.props.frame.protect(tasks.CallAwsService(
            self, "Describe best training job",
            service="sagemaker", action="describeTrainingJob",
            parameters={"TrainingJobName.$": "$.tuning_result.best_training_job"},
            iam_resources=[cdk.Stack.of(self).format_arn(
                service="sagemaker", resource="training-job",
                resource_name=f"{self.props.name_prefix}-*")],
            result_selector=selector, result_path="$.model",
        ))
        tune_states = {
            warm: self.props.frame.protect_job(sagemaker_job_state(
                self, "Tune hyperparameters (warm start)" if warm else "Tune hyperparameters",
                TUNING, jobs.tuning_job(settings, warm_start=warm),
                result_selector={"name.$": "$.HyperParameterTuningJobName",
                                 "best_training_job.$": "$.BestTrainingJob.TrainingJobName"},
                result_path="$.tuning_result",
                comment="Search the ranges; the best training job's model flows on",
            ), kind="tuning")
            for warm in (False, True)
        }
        for state in tune_states.values():
            state.next(best)
        tuning_config = {
            has_strategy: sfn.Pass(
                self, "Tuning config with Hyperband settings" if has_strategy else "Tuning config",
                parameters=jobs.tuning_job_config(strategy_config=has_strategy),
                result_path="$.tuning.job_config",
            ).next(sfn.Choice(self, f"Warm start?{' (Hyperband)' if has_strategy else ''}")
                   .when(sfn.Condition.boolean_equals("$.tuning.use_warm_start", True),
                         tune_states[True])
                   .otherwise(tune_states[False]))
            for has_strategy in (False, True)
        }
        tune = (sfn.Choice(self, "Hyperband settings given?")
                .when(sfn.Condition.boolean_equals("$.tuning.has_strategy_config", True),
                      tuning_config[True])
                .otherwise(tuning_config[False]))
        train.next(after_training_job or then)
        best.next(then)
        return (sfn.Choice(self, "Tune hyperparameters?")
                .when(sfn.Condition.boolean_equals("$.tuning.enabled", True), tune)
                .otherwise(train))

    def _package_builtin_model(self, then: sfn.IChainable) -> sfn.IChainable:
        """`process package` in the runtime image: the built-in model (`xgboost-model` in its
        model.tar.gz) plus the preprocessing transform -> our model.tar.gz under
        `run.s3.packaged`; `model.artifacts` then points at it (`builtin_artifacts` keeps the
        built-in one)."""
        package = self.props.frame.protect_job(sagemaker_job_state(
            self, "Package model", PROCESSING,
            jobs.processing_job(
                self.props.job_settings,
                job_name_path="$.run.job_names.package",
                command=["process", "package"],
                inputs=[jobs.processing_input(contract.PROCESSING_INPUT_MODEL, "$.model.artifacts"),
                        jobs.processing_input(contract.PROCESSING_INPUT_TRANSFORM,
                                              "$.run.s3.transform")],
                outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_PACKAGED,
                                                "$.run.s3.packaged")],
                data_path="$.model.artifacts"),
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.package",
            comment="Repack the built-in XGBoost model with the fitted transform into our bundle",
        ), kind="package")
        use_packaged = sfn.Pass(
            self, "Use packaged model",
            parameters={
                "training_job_name.$": "$.model.training_job_name",
                "artifacts.$": f"States.Format('{{}}{contract.PACKAGED_MODEL_ARCHIVE}', "
                               "$.run.s3.packaged)",
                "hyperparameters.$": "$.model.hyperparameters",
                "builtin_artifacts.$": "$.model.artifacts",
            },
            result_path="$.model",
            comment="Evaluate, register and serve the packaged bundle",
        )
        package.next(use_packaged).next(then)
        return package

    # --- evaluation and gate -------------------------------------------------------------------
    def _evaluate(self) -> sfn.IChainable:
        return self.props.frame.protect_job(sagemaker_job_state(
            self, "Evaluate model", PROCESSING,
            # `--gate auc>=0.85 ...`: the input validator's fixed form of the conditions.
            jobs.evaluation_job(self.props.job_settings,
                                arguments_path="$.quality_gate.arguments",
                                extra_inputs=[jobs.processing_input(
                                    contract.PROCESSING_INPUT_TRAINING_RULES,
                                    "$.run.s3.training_rules")]
                                if self.training_rules else ()),
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.evaluation",
            comment="Score the held-out test split, judge the quality gate conditions; write "
                    "evaluation.json and report.html",
        ), kind="evaluation")

    def _read_evaluation(self) -> sfn.IChainable:
        return self.props.frame.protect(
            read_evaluation_state(self, self.props.artifacts_bucket,
                                  f"{self.props.runs_prefix}*"))

    def _quality_gate(self) -> sfn.IChainable:
        """Every condition judged by the evaluation job (pipeline_input/gate.py says why there):
        the model goes on only when all of them held."""
        frame = self.props.frame
        verdict = "$.evaluation.document.quality_gate"
        gate = sfn.Choice(self, "Quality gate",
                          comment="Pass when every quality gate condition held")
        gate.when(sfn.Condition.boolean_equals(f"{verdict}.passed", True), self._create_model())
        reason = sfn.Pass(self, "Explain rejection", parameters={
            "status": "REJECTED",
            "reason.$": ("States.Format('Quality gate failed: {}; metrics: {}', "
                         f"{verdict}.failed, "
                         "States.JsonToString($.evaluation.document.metrics))"),
            "conditions.$": f"{verdict}.conditions",
        }, result_path="$.outcome")
        notify = frame.notify("Notify rejection", f"{frame.state_machine_name}: model rejected", {
            "status": "REJECTED", "reason": sfn.JsonPath.string_at("$.outcome.reason")})
        gate.otherwise(reason.next(notify).next(sfn.Succeed(self, "Model rejected")))
        return gate

    # --- registry ------------------------------------------------------------------------------
    def _create_model(self) -> sfn.IChainable:
        """The model, then its package. The AutoML branch created its model already (its
        candidate's batch transform needed it): its package names the candidate's containers."""
        props = self.props
        settings = props.job_settings
        frame = props.frame
        automl = settings.automl_training
        # CSV in and out, as Autopilot's containers are.
        register = frame.protect(register_model_package_state(
            self, "Register model package", settings=settings, serving=props.serving,
            group_name=props.model_package_group_name,
            customer_metadata=run_metadata(settings),
            inference_specification={"Containers.$": "$.model.containers",
                                     "SupportedContentTypes": ["text/csv"],
                                     "SupportedResponseMIMETypes": ["text/csv"]}
            if automl else None))
        notify = frame.notify("Notify success", f"{frame.state_machine_name}: model registered", {
            "status": "REGISTERED",
            "model_package_arn": sfn.JsonPath.string_at("$.registered.arn"),
            "approval_status": sfn.JsonPath.string_at("$.registry.approval_status"),
            "metrics": sfn.JsonPath.object_at("$.evaluation.document.metrics"),
            "report": sfn.JsonPath.string_at("$.run.s3.evaluation"),
            **({"training_rules": sfn.JsonPath.string_at(
                "$.training_rules.verdict.document.summary")} if self.training_rules else {}),
        })
        register.next(notify).next(sfn.Succeed(self, "Model registered"))
        if automl:
            return register
        create = frame.protect(create_model_state(
            self, jobs.model_from_artifacts(settings), name_prefix=props.name_prefix))
        create.next(register)
        return create
