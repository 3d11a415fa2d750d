"""Typed stage configuration for the CDK app and the local runner."""

from config.settings import ConfigError, StageConfig, available_stages, load_stage_config

__all__ = ["ConfigError", "StageConfig", "available_stages", "load_stage_config"]
