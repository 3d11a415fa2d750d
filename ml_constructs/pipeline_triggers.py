"""What starts a pipeline's state machine besides a person: an EventBridge Scheduler schedule,
or an EventBridge rule on an event. Each gets a role that may start that one state machine.

The schedule and the rule are each construct's default child, so they keep the logical ids they
had when the stacks built them inline (the schedule has a fixed name)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_constructs.compliance import acknowledge_role_policy


def _starter_role(scope: Construct, service: str, description: str) -> iam.Role:
    return iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal(service),
                    description=description)


def _acknowledge(role: iam.Role) -> None:
    # The target grants states:StartExecution on the one state machine (its default policy).
    acknowledge_role_policy(role.node.find_child("DefaultPolicy"),
                            "Starts executions of one state machine only.", [])


class ScheduledStart(Construct):
    """Starts `state_machine` with `{}` on an EventBridge Scheduler expression."""

    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
                 schedule_name: str, expression: str, description: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.role = _starter_role(self, "scheduler.amazonaws.com",
                                  f"EventBridge Scheduler: {description}")
        self.schedule = scheduler.Schedule(
            self, "Default", schedule_name=schedule_name, description=description,
            schedule=scheduler.ScheduleExpression.expression(expression),
            target=scheduler_targets.StepFunctionsStartExecution(
                state_machine, role=self.role,
                input=scheduler.ScheduleTargetInput.from_object({})),
            key=key)
        _acknowledge(self.role)


class ModelApprovedStart(Construct):
    """Starts `state_machine` when a version of model package group `group` is set to Approved
    (in the console, the CLI or by the training pipeline), with that version's ARN as
    `model_package_arn`."""

    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
                 group: str) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self, "Default", description=f"Deploy approved versions of {group}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": [group],
                        "ModelApprovalStatus": ["Approved"]}))
        self.role = _starter_role(self, "events.amazonaws.com",
                                  "EventBridge: start the deployment state machine")
        self.rule.add_target(targets.SfnStateMachine(
            state_machine, role=self.role,
            input=events.RuleTargetInput.from_object({
                "model_package_arn": events.EventField.from_path("$.detail.ModelPackageArn")})))
        _acknowledge(self.role)
