"""Workspace: the data scientists' SageMaker Studio domain (ml_constructs/studio_domain.py),
when the stage turns `studio` on. It reads the lake the pipelines stack governs."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from ml_constructs.network import IsolatedNetwork
from ml_constructs.studio_domain import StudioDomain
from stacks.pipelines_stack import PipelinesStack
from stacks.storage_stack import StorageStack


class WorkspaceStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 storage: StorageStack, network: IsolatedNetwork, pipelines: PipelinesStack,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.studio = StudioDomain(self, "Studio", config=config, key=storage.key,
                                   network=network, lake=pipelines.lake)
