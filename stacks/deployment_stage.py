"""One stage as CDK Pipelines deploys it: the same stacks `cdk deploy -c stage=<name>` deploys,
plus the little the pipeline needs in the stage's account (a smoke-test role, scan on push)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from ml_constructs.delivery_pipeline import ScanOnPush
from ml_constructs.smoke_test import (
    SmokeTestAccess,
    SmokeTestAccessProps,
    SmokeTestOutputs,
    smoke_targets,
)
from stacks.stage_stacks import StageStacks, add_stage_stacks
from stacks.storage_stack import data_bucket_name


@dataclass(frozen=True)
class DeliveryOptions:
    smoke_test_caller_arn: str | None  # the pipeline's smoke-test role, when this stage has one
    smoke_test_role_name: str  # the role it assumes here
    scan_on_push: bool  # set ECR scan on push here (an account/region the pipeline's is not)


class DeliverySupportStack(cdk.Stack):
    """Kept out of the platform's own stacks, so a plain `cdk deploy` of the stage is unchanged."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 stacks: StageStacks, options: DeliveryOptions, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.smoke_test_role_arn: cdk.CfnOutput | None = None
        if options.smoke_test_caller_arn:
            access = SmokeTestAccess(self, "SmokeTestAccess",
                                     role_name=options.smoke_test_role_name,
                                     props=SmokeTestAccessProps(
                                         raw_bucket_name=data_bucket_name(
                                             self, stacks.storage, "Raw"),
                                         key=stacks.storage.key,
                                         state_machine_names=tuple(
                                             t.state_machine_name for t in smoke_targets(config)),
                                         caller_role_arn=options.smoke_test_caller_arn))
            self.smoke_test_role_arn = cdk.CfnOutput(self, "SmokeTestRoleArn",
                                                     value=access.role.role_arn)
            # The role names the state machines by name: deploy after the stack creating them.
            self.add_stack_dependency(stacks.pipelines)
        if options.scan_on_push:
            ScanOnPush(self, "ScanOnPush")


class DeploymentStage(cdk.Stage):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 git_commit: str, options: DeliveryOptions) -> None:
        super().__init__(scope, construct_id,
                         env=cdk.Environment(account=config.account, region=config.region))
        self.config = config
        self.stacks = add_stage_stacks(self, config, git_commit=git_commit)
        self.support: DeliverySupportStack | None = None
        if options.smoke_test_caller_arn or options.scan_on_push:
            self.support = DeliverySupportStack(
                self, "DeliverySupport", stack_name=f"{config.resource_prefix}-delivery-support",
                env=cdk.Environment(account=config.account, region=config.region),
                config=config, stacks=self.stacks, options=options,
                description=f"ML platform ({config.stage}): what the CI/CD pipeline needs here")

    def smoke_test_outputs(self) -> SmokeTestOutputs:
        if self.support is None or self.support.smoke_test_role_arn is None:
            raise ValueError(f"stage {self.config.stage!r} was built without a smoke test")
        return SmokeTestOutputs(
            raw_bucket_name=self.stacks.storage.node.find_child("RawBucketName"),
            access_role_arn=self.support.smoke_test_role_arn)
