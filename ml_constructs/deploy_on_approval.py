"""The rule that deploys a use case's approved models: a model package of its group set to
Approved (in the console, the CLI or by the training pipeline) starts its deployment state
machine with that package; manual starts with {} deploy the latest Approved one."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ml_constructs.compliance import acknowledge_role_policy


class DeployOnApproval(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 state_machine: sfn.IStateMachine, model_package_group_name: str) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self, "Rule",
            description=f"Deploy approved versions of {model_package_group_name}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": [model_package_group_name],
                        "ModelApprovalStatus": ["Approved"]}))
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                        description="EventBridge: start the deployment state machine")
        self.rule.add_target(targets.SfnStateMachine(
            state_machine, role=role,
            input=events.RuleTargetInput.from_object({
                "model_package_arn": events.EventField.from_path("$.detail.ModelPackageArn")})))
        acknowledge_role_policy(role.node.find_child("DefaultPolicy"),
                                "Starts executions of one state machine only.", [])
