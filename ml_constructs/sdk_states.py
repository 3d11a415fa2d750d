"""Small factories for a pipeline's aws-sdk task states: each protected by the frame's retry and
failure path, with the IAM resources it may touch, and Pass states that explain a failure."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs.pipeline_state_machine import PipelineFrame


class SdkStates:
    def __init__(self, scope: Construct, frame: PipelineFrame) -> None:
        self.scope = scope
        self.frame = frame

    def sagemaker_arn(self, resource: str, name: str) -> str:
        return cdk.Stack.of(self.scope).format_arn(service="sagemaker", resource=resource,
                                                   resource_name=name)

    def task(self, state_id: str, action: str, parameters: dict, *, resources: list[str],
             result_path: str | None = sfn.JsonPath.DISCARD, service: str = "sagemaker",
             iam_action: str | None = None, result_selector: dict | None = None,
             not_transient: sfn.IChainable | None = None) -> tasks.CallAwsService:
        """`not_transient`: where a refused call that is not retried goes, if not to the failure
        path (a state that expects one, e.g. a lookup of what may not exist)."""
        return self.frame.protect(tasks.CallAwsService(
            self.scope, state_id, service=service, action=action, parameters=parameters,
            iam_resources=resources, iam_action=iam_action, result_path=result_path,
            result_selector=result_selector), not_transient=not_transient)

    def fail(self, state_id: str, error: str, cause: str) -> sfn.Pass:
        """A Pass that explains a failure in `$.error` and goes to the failure path; a cause
        starting with `States.` is an intrinsic (States.Format) over the state."""
        key = "Cause.$" if cause.startswith("States.") else "Cause"
        explain = sfn.Pass(self.scope, state_id, parameters={"Error": error, key: cause},
                           result_path="$.error")
        explain.next(self.frame.notify_failure)
        return explain
