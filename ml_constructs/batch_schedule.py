"""A use case's scheduled batch inference: EventBridge Scheduler starts its batch state machine
with `{}` (the stage's defaults: the latest approved model over the default input)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_constructs.compliance import acknowledge_role_policy


class BatchSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, schedule_name: str,
                 expression: str, state_machine: sfn.IStateMachine, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description=f"EventBridge Scheduler ({schedule_name}): start one batch inference "
                        "state machine")
        self.schedule = scheduler.Schedule(
            self, "Schedule",
            schedule_name=schedule_name,
            description="Scheduled batch inference with the latest approved model",
            schedule=scheduler.ScheduleExpression.expression(expression),
            target=scheduler_targets.StepFunctionsStartExecution(
                state_machine, role=role, input=scheduler.ScheduleTargetInput.from_object({})),
            key=key,
        )
        acknowledge_role_policy(role.node.find_child("DefaultPolicy"),
                                "Starts executions of one state machine only.", [])
