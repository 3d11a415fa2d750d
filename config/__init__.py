"""Typed stage configuration for the CDK app and the local runner."""

from config.settings import (
    ConfigError,
    StageConfig,
    UseCaseConfig,
    available_stages,
    load_stage_config,
)

__all__ = ["ConfigError", "StageConfig", "UseCaseConfig", "available_stages",
           "load_stage_config"]
