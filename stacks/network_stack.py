"""Network (only when `network.isolate` is set): the isolated VPC jobs and endpoints run in."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from ml_constructs.network import IsolatedNetwork
from stacks.log_retention import retention
from stacks.storage_stack import StorageStack


class NetworkStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 storage: StorageStack, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = IsolatedNetwork(self, "Network", cidr=config.network.cidr,
                                       max_azs=config.network.max_azs, key=storage.key,
                                       log_retention=retention(config.log_retention_days),
                                       experiment_tracking=config.experiment_tracking.enabled)
        cdk.CfnOutput(self, "VpcId", value=self.network.vpc.vpc_id)
