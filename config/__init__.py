"""Typed stage configuration for the CDK app and the local runner.

Import from here, not from the modules: `checks` (value checks), `loader` (reading a stage
file), the sections (`resources`, `training`, `serving`, `cicd`, `use_cases`, `stage`, the root)
and `delivery` (what a CI/CD stage's pipeline deploys).
"""

from config.channels import ChannelConfig, ChannelsConfig
from config.checks import LOG_RETENTION_DAYS
from config.cicd import CicdConfig
from config.delivery import DeliveredStage, deploys_elsewhere, plan_delivery
from config.lake import LakeFormationConfig, LakeReaderConfig, StudioConfig
from config.loader import load_stage_config
from config.problems import ConfigError
from config.resources import (
    BatchInferenceConfig,
    InputValidationConfig,
    JobResources,
    JobRetryConfig,
    NetworkConfig,
    RegistryConfig,
    StorageConfig,
)
from config.serving import (
    AutoscalingConfig,
    DeploymentGuardrailsConfig,
    MonitoringConfig,
    RollbackAlarmsConfig,
    ServerlessConfig,
    ServingConfig,
)
from config.stage import RESOURCE_PREFIX_MAX, StageConfig
from config.stage_files import available_stages, stage_file
from config.tracking import ExperimentTrackingConfig
from config.training import (
    AutoMLConfig,
    GateCondition,
    QualityGateConfig,
    TrainingConfig,
    TuningConfig,
)
from config.use_cases import UseCaseConfig

__all__ = [
    "LOG_RETENTION_DAYS",
    "RESOURCE_PREFIX_MAX",
    "AutoMLConfig",
    "AutoscalingConfig",
    "BatchInferenceConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "CicdConfig",
    "ConfigError",
    "DeliveredStage",
    "DeploymentGuardrailsConfig",
    "ExperimentTrackingConfig",
    "GateCondition",
    "InputValidationConfig",
    "JobResources",
    "JobRetryConfig",
    "LakeFormationConfig",
    "LakeReaderConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "QualityGateConfig",
    "RegistryConfig",
    "RollbackAlarmsConfig",
    "ServerlessConfig",
    "ServingConfig",
    "StageConfig",
    "StorageConfig",
    "StudioConfig",
    "TrainingConfig",
    "TuningConfig",
    "UseCaseConfig",
    "available_stages",
    "deploys_elsewhere",
    "load_stage_config",
    "plan_delivery",
    "stage_file",
]
