"""A pipeline state machine with what every pipeline needs: encrypted logs of every state, X-Ray
tracing, a failure path that notifies and fails with the cause, and the validated first state."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import JobRetryConfig
from ml_constructs.api_retries import retry_transient_api_errors
from ml_constructs.compliance import acknowledge_role_policy, ref_in_finding, wildcard_findings
from ml_constructs.input_validation import InputValidator
from ml_constructs.job_retries import retry_transient_failures
from ml_constructs.notifications import NotificationTopic
from ml_constructs.physical_names import name_per_stack
from ml_constructs.pipeline_states import ERROR_PATH, catch_all, protect
from ml_constructs.stored_definition import stored_state_machine

NOTIFICATION_ERROR_PATH = "$.notification_error"  # beside $.error, which the Fail state reports


class PipelineFrame(Construct):
    """Owns the shared states of one pipeline; `finish` wraps a definition in a state machine.
    A state machine without user input (the retraining gate) passes no validator."""

    def __init__(self, scope: Construct, construct_id: str, *, pipeline: str,
                 state_machine_name: str, notifications: NotificationTopic,
                 validator: InputValidator | None, job_retries: JobRetryConfig) -> None:
        super().__init__(scope, construct_id)
        self.pipeline = pipeline
        self.job_retries = job_retries
        self.state_machine_name = state_machine_name
        self.notifications = notifications
        self.failed = sfn.Fail(self, "Pipeline failed", error_path=f"{ERROR_PATH}.Error",
                               cause_path=f"{ERROR_PATH}.Cause")
        self.notify_failure = tasks.SnsPublish(
            self, "Notify failure",
            topic=notifications.topic,
            subject=f"{state_machine_name}: FAILED",
            message=sfn.TaskInput.from_object({
                "pipeline": pipeline,
                "status": "FAILED",
                "execution": sfn.JsonPath.execution_id,
                "error": sfn.JsonPath.string_at(f"{ERROR_PATH}.Error"),
                "cause": sfn.JsonPath.string_at(f"{ERROR_PATH}.Cause"),
            }),
            result_path=sfn.JsonPath.DISCARD,
        )
        # The notifier retries transient errors but cannot catch into itself: its own refused
        # call goes under another key, and the execution fails with the pipeline's error.
        retry_transient_api_errors(self.notify_failure, not_transient=self.failed,
                                   error_path=NOTIFICATION_ERROR_PATH)
        self.notify_failure.next(self.failed)
        self._validator = validator

    def protect(self, state, *, not_transient: sfn.IChainable | None = None):
        return protect(state, self.notify_failure, not_transient=not_transient)

    def protect_job(self, job: sfn.CustomState, *, kind: str) -> sfn.CustomState:
        """`protect`, and a SageMaker `.sync` job that failed for a transient reason runs again
        as a new job (ml_constructs/job_retries.py); `kind` names its job under $.run.job_names.
        """
        # Catchers match in order: a refused create call (its generic name matches the job
        # retries' States.TaskFailed too), then a job that failed, then everything else.
        retry_transient_api_errors(job, not_transient=self.notify_failure, error_path=ERROR_PATH)
        retry_transient_failures(self, job, kind=kind, policy=self.job_retries,
                                 failure_handler=self.notify_failure)
        return catch_all(job, self.notify_failure)

    def validate_input(self, *, defaults: dict, platform: dict, state_id: str = "Validate input",
                       data: dict | None = None,
                       comment: str = "Merge the input over the stage defaults and validate it "
                                      "before any job runs") -> tasks.LambdaInvoke:
        """First state: the execution input merged over `defaults`, validated, with derived names
        and locations. Its output replaces the state, so later states read `$.<section>`. With
        `data` (what later states read of the data), the same validation once more, with the
        rules that need it (runtime_scripts/pipeline_input/handler.py)."""
        if self._validator is None:
            raise ValueError(f"{self.pipeline}: validate_input needs the frame's validator")
        return self.protect(tasks.LambdaInvoke(
            self, state_id,
            lambda_function=self._validator.function,
            payload=sfn.TaskInput.from_object({
                "pipeline": self.pipeline,
                "execution_name": sfn.JsonPath.string_at("$$.Execution.Name"),
                "input": sfn.JsonPath.object_at("$$.Execution.Input"),
                "defaults": defaults,
                "platform": platform,
                **({"data": data} if data is not None else {}),
            }),
            payload_response_only=True,
            retry_on_service_exceptions=False,  # `protect` owns the retry policy
            comment=comment,
        ))

    def invoke_validator(self, state_id: str, payload: dict, *, result_path: str,
                         comment: str) -> tasks.LambdaInvoke:
        """A later check by the same function (e.g. of an object a state read), its answer
        under `result_path`; its refusals fail the execution like the first state's."""
        if self._validator is None:
            raise ValueError(f"{self.pipeline}: {state_id} needs the frame's validator")
        return self.protect(tasks.LambdaInvoke(
            self, state_id, lambda_function=self._validator.function,
            payload=sfn.TaskInput.from_object(payload), payload_response_only=True,
            retry_on_service_exceptions=False, result_path=result_path, comment=comment))

    def notify(self, state_id: str, subject: str, message: dict) -> tasks.SnsPublish:
        return self.protect(tasks.SnsPublish(
            self, state_id, topic=self.notifications.topic, subject=subject,
            message=sfn.TaskInput.from_object({"pipeline": self.pipeline,
                                               "execution": sfn.JsonPath.execution_id,
                                               **message}),
            result_path=sfn.JsonPath.DISCARD,
        ))

    def finish(self, definition: sfn.IChainable, *, key: kms.IKey,
               log_retention: logs.RetentionDays, timeout: cdk.Duration) -> sfn.StateMachine:
        # Under /aws/vendedlogs/: Step Functions adds each log group it delivers to to the
        # account's CloudWatch Logs resource policy (5,120 characters at most), unless the name
        # starts with /aws/vendedlogs/, which CloudWatch Logs covers with one wildcard. Retained
        # by `cdk destroy`, so the name is new for every incarnation of the stack.
        log_group = logs.LogGroup(
            self, "Logs",
            log_group_name=name_per_stack(f"/aws/vendedlogs/states/{self.state_machine_name}"),
            encryption_key=key, retention=log_retention, removal_policy=cdk.RemovalPolicy.RETAIN)
        state_machine = stored_state_machine(
            self, "StateMachine",
            state_machine_name=self.state_machine_name,
            definition=definition,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=True),
            tracing_enabled=True,
            timeout=timeout,
        )
        self.notifications.grant_publish(state_machine)
        resources = ["*"]
        if self._validator is not None:
            self._validator.function.grant_invoke(state_machine)
            resources.append(f"{ref_in_finding(self._validator.function)}:*")
        self.acknowledge_policy(
            state_machine,
            "X-Ray trace segments have no resource ARN (AWS requires '*'); the input validator is "
            "invoked by CDK's grant on its versions (':*'); the notification key grant is CDK's "
            "on one key.",
            wildcard_findings(actions=("kms:GenerateDataKey*",), resources=tuple(resources)),
        )
        return state_machine

    @staticmethod
    def acknowledge_policy(state_machine: sfn.StateMachine, reason: str,
                           findings: list[str]) -> None:
        acknowledge_role_policy(
            state_machine.role.node.find_child("DefaultPolicy"), reason, findings)
