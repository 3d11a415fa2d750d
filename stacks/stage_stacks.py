"""One stage's stacks, under the app (plain `cdk deploy`) or under a CDK Pipelines stage."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from stacks.network_stack import NetworkStack
from stacks.pipelines_stack import PipelinesStack
from stacks.serving_stack import ServingStack
from stacks.storage_stack import StorageStack
from stacks.workspace_stack import WorkspaceStack


@dataclass(frozen=True)
class StageStacks:
    storage: StorageStack
    pipelines: PipelinesStack
    serving: ServingStack


def add_stage_stacks(scope: Construct, config: StageConfig, *, git_commit: str) -> StageStacks:
    """One stage's stacks under `scope`: the app (plain `cdk deploy`) or a CDK Pipelines stage.
    Both use the same construct ids and stack names, so a stage moves between them in place."""
    env = cdk.Environment(account=config.account, region=config.region)
    prefix = config.resource_prefix
    storage = StorageStack(scope, "Storage", stack_name=f"{prefix}-storage", env=env,
                           config=config,
                           description=f"ML platform ({config.stage}): KMS key and data buckets")
    network = None
    if config.network.isolate:
        network = NetworkStack(scope, "Network", stack_name=f"{prefix}-network", env=env,
                               config=config, storage=storage,
                               description=f"ML platform ({config.stage}): isolated VPC").network
    pipelines = PipelinesStack(scope, "Pipelines", stack_name=f"{prefix}-pipelines", env=env,
                               config=config, storage=storage, network=network,
                               git_commit=git_commit,
                               description=f"ML platform ({config.stage}): Glue ETL, training "
                                           "and batch inference state machines")
    serving = ServingStack(scope, "Serving", stack_name=f"{prefix}-serving", env=env,
                           config=config, storage=storage, network=network,
                           pipelines=pipelines.use_cases, git_commit=git_commit,
                           description=f"ML platform ({config.stage}): endpoint deployment, "
                                       "alarms, Model Monitor and drift-triggered retraining")
    if config.studio.enabled:  # config checks: with lake_formation and network.isolate
        WorkspaceStack(scope, "Workspace", stack_name=f"{prefix}-workspace", env=env,
                       config=config, storage=storage, network=network, pipelines=pipelines,
                       description=f"ML platform ({config.stage}): the data scientists' "
                                   "Studio domain")
    for key, value in config.tags.items():
        cdk.Tags.of(scope).add(key, value)
    return StageStacks(storage=storage, pipelines=pipelines, serving=serving)
