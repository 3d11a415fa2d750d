"""The training rules of a use case (its manifest's training_rules), judged after training.

Which rules run where (runtime_scripts/common/training_rules.py says why): with SageMaker's
built-in XGBoost and `training.debugger`, Debugger's built-in rules run in SageMaker's rule
containers beside the training job (DebugRuleConfigurations; they read the tensors the built-in
algorithm emits); `training.debugger` also adds the ProfilerReport rule, which reads the system
metrics SageMaker collects from any container. In script mode (no smdebug for current
frameworks) the platform's own rule job (`process training-rules`) judges the curve rules over
the training curve the script wrote. Both end in one rules.json: its statuses go into the
notification and the evaluation report, and with `training_rules.on_issue = "fail"` a rule that
found an issue fails the execution before the model is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import UseCaseConfig
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import PROCESSING, sagemaker_job_state
from runtime_scripts import contract
from runtime_scripts.common.training_rules import TrainingRules

# DescribeTrainingJob reports a rule InProgress until its container finished; SageMaker runs
# them beside the job and they end soon after it.
RULE_POLL_SECONDS = 60
PROFILER_REPORT = "ProfilerReport"


def _rule_config_function(name: str) -> str:
    """Debugger's rule name -> the smdebug_rulesconfig function, e.g. TreeDepth -> tree_depth."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def debugger_request(rules: TrainingRules, *, region: str, builtin: bool) -> dict:
    """CreateTrainingJob's Debugger members: DebugHookConfig and DebugRuleConfigurations for
    the built-in rules (built-in algorithm only), ProfilerRuleConfigurations for ProfilerReport.
    Rule parameters, tensor collections and the rule evaluator image of the region come from
    the SageMaker SDK's tables (smdebug_rulesconfig, image_uris "debugger"), offline."""
    import smdebug_rulesconfig as rule_configs
    from sagemaker.core.debugger.debugger import get_rule_container_image_uri

    image = get_rule_container_image_uri(None, region)
    request: dict = {}
    if builtin and rules.builtin:
        configurations, collections = [], {}
        for name in rules.builtin:
            config = getattr(rule_configs, _rule_config_function(name))()
            rule = config["DebugRuleConfiguration"]
            configurations.append({"RuleConfigurationName": rule["RuleConfigurationName"],
                                   "RuleEvaluatorImage": image,
                                   "RuleParameters": dict(rule["RuleParameters"])})
            for collection in config.get("CollectionConfigurations", []):
                collections[collection["CollectionName"]] = collection
        # The built-in algorithm writes its tensors here; the rule containers read them.
        hook: dict = {"S3OutputPath.$": "$.run.s3.debug_output"}
        if collections:
            hook["CollectionConfigurations"] = list(collections.values())
        request["DebugHookConfig"] = hook
        request["DebugRuleConfigurations"] = configurations
    if rules.profiler:
        request["ProfilerRuleConfigurations"] = [{
            "RuleConfigurationName": PROFILER_REPORT, "RuleEvaluatorImage": image,
            "RuleParameters": {"rule_to_invoke": PROFILER_REPORT}}]
    return request


def training_rule_props(use_case: UseCaseConfig, *, region: str) -> dict:
    """The TrainingPipelineProps members of a use case's training rules and distribution: no
    rule job where training.rules is "off" or no rule applies (curve rules need the script's
    curve, Debugger's need training.debugger)."""
    manifest = use_case.manifest
    rules, builtin = manifest.training_rules, use_case.builtin_training
    sharded = {"sharded_training": manifest.image.sharded_training and not builtin}
    request = debugger_request(rules, region=region, builtin=builtin) \
        if use_case.training.debugger else {}
    if use_case.training.rules == "off" or not (request or (rules.curve and not builtin)):
        return {"training_rules": None, "debugger_request": {}, **sharded}
    return {"training_rules": rules, "debugger_request": request, **sharded}


@dataclass(frozen=True)
class TrainingRuleProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    artifacts_bucket: s3.IBucket
    runs_prefix: str
    name_prefix: str
    rules: TrainingRules
    # The statuses DescribeTrainingJob reports, by the request's members: DebugRuleConfigurations
    # -> DebugRuleEvaluationStatuses, ProfilerRuleConfigurations -> ProfilerRuleEvaluationStatuses.
    debugger_request: dict


class TrainingRuleStates(Construct):
    """`after_training_job(then)`: the entry after a single training job (waits for Debugger's
    rule statuses when it has any); `after_tuning(then)`: after a tuning job's best trial
    (tuning jobs take no Debugger rules). Both continue to the rule job, its verdict, and the
    choice between `then` and failing."""

    def __init__(self, scope: Construct, construct_id: str, *, props: TrainingRuleProps,
                 then: sfn.IChainable) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        judge = self._judge(then)
        none = sfn.Pass(self, "No Debugger rule statuses",
                        parameters={"debug": [], "profiler": []}, result_path="$.debugger")
        none.next(judge)
        self.after_tuning: sfn.IChainable = none
        reported = {key: member for key, member in (
            ("debug", "DebugRuleEvaluationStatuses"),
            ("profiler", "ProfilerRuleEvaluationStatuses"))
            if member.replace("EvaluationStatuses", "Configurations") in props.debugger_request}
        self.after_training_job: sfn.IChainable = (self._wait_for_debugger(judge, reported)
                                                   if reported else none)

    def _wait_for_debugger(self, then: sfn.IChainable, reported: dict[str, str]
                           ) -> sfn.IChainable:
        """Describe the job until none of its Debugger rules is InProgress."""
        frame = self.props.frame
        describe = frame.protect(tasks.CallAwsService(
            self, "Describe training rules", service="sagemaker", action="describeTrainingJob",
            parameters={"TrainingJobName.$": "$.model.training_job_name"},
            iam_resources=[cdk.Stack.of(self).format_arn(
                service="sagemaker", resource="training-job",
                resource_name=f"{self.props.name_prefix}-*")],
            result_selector={f"{key}.$": f"$.{member}" for key, member in reported.items()},
            result_path="$.debugger_status"))
        # A list's members are out of reach of a Choice (definite paths only): the statuses as
        # one JSON text, matched for a rule still InProgress.
        running = sfn.Pass(self, "Any training rule running?", parameters={
            **{key: [] for key in ("debug", "profiler") if key not in reported},
            **{f"{key}.$": f"$.debugger_status.{key}" for key in reported},
            "text.$": "States.JsonToString(States.Array("
                      + ", ".join(f"$.debugger_status.{key}" for key in reported) + "))"},
            result_path="$.debugger")
        wait = sfn.Wait(self, "Wait for training rules",
                        time=sfn.WaitTime.duration(cdk.Duration.seconds(RULE_POLL_SECONDS)))
        describe.next(running).next(
            sfn.Choice(self, "Training rules finished?")
            .when(sfn.Condition.string_matches(
                "$.debugger.text", '*"RuleEvaluationStatus":"InProgress"*'), wait.next(describe))
            .otherwise(then))
        return describe

    def _judge(self, then: sfn.IChainable) -> sfn.IChainable:
        props, frame = self.props, self.props.frame
        inputs = [] if props.job_settings.builtin_training else [jobs.processing_input(
            contract.PROCESSING_INPUT_TRAINING_OUTPUT,
            "States.Format('{}{}/output/output.tar.gz', $.run.s3.model_output, "
            "$.model.training_job_name)")]
        # The built-in algorithm writes no training curve: its curve rules are Debugger's.
        no_curve = ", '--no-curve'" if props.job_settings.builtin_training else ""
        arguments = sfn.Pass(self, "Training rule arguments", parameters={"arguments.$": (
            "States.Array('--debugger-statuses', States.JsonToString($.debugger.debug), "
            f"'--profiler-statuses', States.JsonToString($.debugger.profiler){no_curve})")},
            result_path="$.debugger")
        job = frame.protect_job(sagemaker_job_state(
            self, "Check training rules", PROCESSING,
            jobs.processing_job(
                props.job_settings, job_name_path="$.run.job_names.training_rules",
                command=["process", "training-rules"], inputs=inputs,
                outputs=[jobs.processing_output(contract.PROCESSING_OUTPUT_TRAINING_RULES,
                                                "$.run.s3.training_rules")],
                data_path="$.model.artifacts", arguments_path="$.debugger.arguments"),
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.training_rules",
            comment="Judge the use case's training rules: the curve rules over the training "
                    "curve, with what SageMaker Debugger's rules reported",
        ), kind="training_rules")
        read = frame.protect(tasks.CallAwsService(
            self, "Read training rules", service="s3", action="getObject",
            parameters={"Bucket.$": "$.run.s3.evaluation_bucket",
                        "Key.$": "$.run.s3.training_rules_key"},
            iam_resources=[props.artifacts_bucket.arn_for_objects(f"{props.runs_prefix}*")],
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path="$.training_rules.verdict"))
        notify = frame.notify(
            "Notify training rule issues", f"{frame.state_machine_name}: training rules failed",
            {"status": "TRAINING_RULES_FAILED",
             "training_rules": sfn.JsonPath.string_at("$.training_rules.verdict.document.summary"),
             "training_job": sfn.JsonPath.string_at("$.model.training_job_name")})
        failed = sfn.Fail(self, "Training rules failed", error="TrainingRulesFailed",
                          cause="a training rule found an issue and training_rules.on_issue "
                                "is fail: see the notification and rules.json")
        notify.next(failed)
        verdict = (sfn.Choice(self, "Training rules passed?")
                   .when(sfn.Condition.and_(
                       sfn.Condition.boolean_equals(
                           "$.training_rules.verdict.document.issues_found", True),
                       sfn.Condition.string_equals("$.training_rules.on_issue", "fail")), notify)
                   .otherwise(then))
        arguments.next(job).next(read).next(verdict)
        return arguments
