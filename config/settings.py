"""Typed, validated stage configuration: the one place where defaults and allowed values live.

A stage file (`config/stages/<stage>.json`) overrides the defaults declared on these dataclasses.
`load_stage_config` reads it, rejects unknown keys, checks every type and value, and raises
`ConfigError` naming the key path, the bad value and what is allowed. Stacks receive only an
already-validated `StageConfig`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

STAGES_DIR = Path(__file__).with_name("stages")


class ConfigError(ValueError):
    """A stage configuration value is wrong; the message names the key and what is allowed."""

    def __init__(self, key: str, problem: str, allowed: str | None = None) -> None:
        self.key = key
        message = f"config key '{key}': {problem}"
        if allowed:
            message += f" (allowed: {allowed})"
        super().__init__(message)


# --- value checks ---------------------------------------------------------------------------------
_ML_INSTANCE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^ ()]+ ){5}[^ ()]+\)$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# CloudWatch Logs accepts only these retention values (in days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)


def check_instance_type(key: str, value: str) -> None:
    if not _ML_INSTANCE.match(value):
        raise ConfigError(key, f"{value!r} is not a SageMaker instance type",
                          "an ml.* type such as ml.m5.xlarge, ml.c5.2xlarge, ml.g5.xlarge")


def check_schedule(key: str, value: str) -> None:
    rate = _RATE.match(value)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount < 1 or (amount == 1) != (not unit.endswith("s")):
            raise ConfigError(key, f"{value!r}: use 'rate(1 day)' or 'rate(N days)' with N > 1",
                              "rate(N minutes|hours|days) or cron(min hour dom month dow year)")
        return
    if not _CRON.match(value):
        raise ConfigError(key, f"{value!r} is not a schedule expression",
                          "rate(N minutes|hours|days) or cron(min hour dom month dow year), "
                          "e.g. cron(0 3 * * ? *)")
    fields = value[5:-1].split(" ")
    if fields[2] != "?" and fields[4] != "?":
        raise ConfigError(key, f"{value!r}: day-of-month or day-of-week must be '?'",
                          "cron(0 3 * * ? *) or cron(0 3 ? * MON *)")


def check_positive(key: str, value: float, minimum: float = 1) -> None:
    if value < minimum:
        raise ConfigError(key, f"{value!r} is below the minimum", f">= {minimum}")


def check_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(key, f"{value!r} is out of range", f"{low} .. {high}")


# --- sections -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StorageConfig:
    noncurrent_version_expiration_days: int = 90
    incomplete_upload_expiration_days: int = 7
    infrequent_access_transition_days: int = 30
    access_log_expiration_days: int = 365

    def validate(self, key: str) -> None:
        for name in ("noncurrent_version_expiration_days", "incomplete_upload_expiration_days",
                     "access_log_expiration_days"):
            check_positive(f"{key}.{name}", getattr(self, name))
        # S3 refuses a STANDARD_IA transition sooner than 30 days after creation.
        check_positive(f"{key}.infrequent_access_transition_days",
                       self.infrequent_access_transition_days, 30)


@dataclass(frozen=True)
class NetworkConfig:
    """Optional VPC isolation: jobs and endpoints run in private subnets with VPC endpoints."""

    isolate: bool = False
    cidr: str = "10.42.0.0/16"
    max_azs: int = 2

    def validate(self, key: str) -> None:
        if not re.match(r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$", self.cidr):
            raise ConfigError(f"{key}.cidr", f"{self.cidr!r} is not an IPv4 CIDR",
                              "a.b.c.d/16 .. a.b.c.d/24")
        check_range(f"{key}.max_azs", self.max_azs, 1, 3)


@dataclass(frozen=True)
class JobResources:
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3600

    def validate(self, key: str) -> None:
        check_instance_type(f"{key}.instance_type", self.instance_type)
        check_positive(f"{key}.instance_count", self.instance_count)
        check_range(f"{key}.volume_size_gb", self.volume_size_gb, 1, 16384)
        # SageMaker caps a training job's MaxRuntimeInSeconds at 28 days.
        check_range(f"{key}.max_runtime_seconds", self.max_runtime_seconds, 60, 2_419_200)


@dataclass(frozen=True)
class TrainingConfig(JobResources):
    algorithm: Literal["script", "builtin-xgboost"] = "script"
    use_spot: bool = False
    max_wait_seconds: int = 7200
    hyperparameters: dict[str, str] = field(default_factory=lambda: {
        "num_round": "300", "max_depth": "5", "eta": "0.1", "early_stopping_rounds": "20",
    })

    def validate(self, key: str) -> None:
        super().validate(key)
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ConfigError(f"{key}.max_wait_seconds",
                              "must be >= max_runtime_seconds when use_spot is true",
                              f">= {self.max_runtime_seconds}")


@dataclass(frozen=True)
class TuningConfig:
    enabled: bool = False
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = "Bayesian"
    objective_metric: str = "validation:auc"
    objective_type: Literal["Maximize", "Minimize"] = "Maximize"
    max_jobs: int = 20
    max_parallel_jobs: int = 2

    def validate(self, key: str) -> None:
        check_range(f"{key}.max_jobs", self.max_jobs, 1, 500)
        check_range(f"{key}.max_parallel_jobs", self.max_parallel_jobs, 1, 10)
        if self.max_parallel_jobs > self.max_jobs:
            raise ConfigError(f"{key}.max_parallel_jobs", "must not exceed max_jobs",
                              f"<= {self.max_jobs}")


@dataclass(frozen=True)
class QualityGateConfig:
    metric: Literal["auc", "pr_auc", "accuracy", "precision", "recall", "f1"] = "auc"
    threshold: float = 0.85

    def validate(self, key: str) -> None:
        check_range(f"{key}.threshold", self.threshold, 0.0, 1.0)


@dataclass(frozen=True)
class RegistryConfig:
    approval_status: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"

    def validate(self, key: str) -> None:
        return None


@dataclass(frozen=True)
class BatchInferenceConfig(JobResources):
    schedule: str | None = None  # EventBridge Scheduler expression; None = not scheduled
    max_payload_mb: int = 6

    def validate(self, key: str) -> None:
        super().validate(key)
        if self.schedule is not None:
            check_schedule(f"{key}.schedule", self.schedule)
        check_range(f"{key}.max_payload_mb", self.max_payload_mb, 1, 100)


@dataclass(frozen=True)
class StageConfig:
    stage: str
    project_name: str = "mlplatform"
    account: str | None = None  # None: the CLI's default account at deploy time
    region: str = "eu-west-1"
    cost_centre: str = "ml-platform"
    owner: str = "ml-team"
    notification_email: str | None = None
    log_retention_days: int = 365
    storage: StorageConfig = field(default_factory=StorageConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    processing: JobResources = field(default_factory=JobResources)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    quality_gate: QualityGateConfig = field(default_factory=QualityGateConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    batch_inference: BatchInferenceConfig = field(default_factory=BatchInferenceConfig)

    def validate(self, key: str = "") -> None:
        if not _NAME.match(self.project_name):
            raise ConfigError("project_name", f"{self.project_name!r} is not a valid name",
                              "3-32 lowercase letters, digits and '-', starting with a letter")
        if len(self.resource_prefix) > 24:
            # Bucket names are <project>-<stage>-<kind>-<account>-<region>: S3 allows 63.
            raise ConfigError("project_name", f"'{self.resource_prefix}' (project-stage) is "
                              f"{len(self.resource_prefix)} characters long", "at most 24")
        if self.account is not None and not _ACCOUNT.match(self.account):
            raise ConfigError("account", f"{self.account!r} is not an AWS account id",
                              "12 digits, or null for the CLI's default account")
        if not _REGION.match(self.region):
            raise ConfigError("region", f"{self.region!r} is not an AWS region", "e.g. eu-west-1")
        if self.notification_email is not None and not _EMAIL.match(self.notification_email):
            raise ConfigError("notification_email",
                              f"{self.notification_email!r} is not an email address",
                              "name@example.com, or null for no email subscription")
        allowed = LOG_RETENTION_DAYS
        if self.log_retention_days not in allowed:
            raise ConfigError("log_retention_days", f"{self.log_retention_days!r} is not allowed",
                              ", ".join(map(str, allowed)))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                value.validate(f.name)

    @property
    def resource_prefix(self) -> str:
        """Prefix for named resources (jobs, state machines): project and stage."""
        return f"{self.project_name}-{self.stage}"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project_name, "stage": self.stage,
                "cost-centre": self.cost_centre, "owner": self.owner}


# --- loading --------------------------------------------------------------------------------------
def available_stages() -> list[str]:
    return sorted(p.stem for p in STAGES_DIR.glob("*.json"))


def load_stage_config(stage: str, path: Path | None = None) -> StageConfig:
    """Read, type-check and validate one stage's configuration."""
    if path is None:
        stages = available_stages()
        if stage not in stages:
            raise ConfigError("stage", f"unknown stage {stage!r}", ", ".join(stages))
        path = STAGES_DIR / f"{stage}.json"
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError("stage", f"config file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError("stage", f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("stage", f"{path} must hold a JSON object")
    config = _build(StageConfig, {"stage": stage, **data}, "")
    config.validate()
    return config


def _build(cls: type, data: dict, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}{unknown[0]}"
        raise ConfigError(key, "unknown key", ", ".join(f"{prefix}{n}" for n in fields))
    values = {name: _coerce(hints[name], data[name], f"{prefix}{name}")
              for name in fields if name in data}
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [o for o in options if o is not type(None)]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be an object, got {type(value).__name__}")
        return _build(hint, value, f"{key}.")
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(key, f"{value!r} is not allowed", ", ".join(map(str, allowed)))
        return value
    if origin is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(key, "must be an object of strings to strings",
                              'e.g. {"max_depth": "5"}')
        return dict(value)
    expected = {int: "integer", float: "number", bool: "boolean", str: "string"}[hint]
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(key, f"must be a {expected}, got {value!r}")
    return value


# Default search space for the churn XGBoost tuning job (per-execution input can replace it).
DEFAULT_TUNING_RANGES: dict = {
    "continuous": [
        {"name": "eta", "min": 0.01, "max": 0.3, "scaling": "Logarithmic"},
        {"name": "subsample", "min": 0.6, "max": 1.0, "scaling": "Linear"},
        {"name": "colsample_bytree", "min": 0.5, "max": 1.0, "scaling": "Linear"},
        {"name": "min_child_weight", "min": 1.0, "max": 10.0, "scaling": "Auto"},
    ],
    "integer": [{"name": "max_depth", "min": 3, "max": 8, "scaling": "Linear"}],
    "categorical": [],
}
DEFAULT_TUNING_STATIC_HYPERPARAMETERS: dict[str, str] = {
    "num_round": "300", "early_stopping_rounds": "20",
}
