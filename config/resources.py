"""Sections of the stage's resources: storage, network, the input validator, job resources and
retries, batch inference and the model registry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from config.checks import check_instance_type, check_positive, check_range, check_schedule
from config.problems import report
from runtime_scripts import contract


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
class InputValidationConfig:
    """The `Validate input` Lambda every pipeline starts with."""

    # Concurrent executions reserved for it; None reserves nothing (the account's unreserved
    # pool). Lambda keeps 100 of the account's concurrency unreserved and a new account's quota
    # can be as low as 10, so any reservation can fail the first deploy there: off by default.
    reserved_concurrency: int | None = None

    def validate(self, key: str) -> None:
        if self.reserved_concurrency is not None:
            # 0 would throttle every invocation, so every execution would fail in its first state.
            check_positive(f"{key}.reserved_concurrency", self.reserved_concurrency)


@dataclass(frozen=True)
class NetworkConfig:
    """Optional VPC isolation: jobs and endpoints run in private subnets with VPC endpoints."""

    isolate: bool = False
    cidr: str = "10.42.0.0/16"
    max_azs: int = 2

    def validate(self, key: str) -> None:
        if not re.match(r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$", self.cidr):
            report(f"{key}.cidr", f"{self.cidr!r} is not an IPv4 CIDR",
                   "a.b.c.d/16 .. a.b.c.d/24")
        check_range(f"{key}.max_azs", self.max_azs, 1, 3)


@dataclass(frozen=True)
class JobResources:
    """A processing job's resources (`processing`); training's add to them."""

    MAX_RUNTIME_SECONDS: ClassVar[int] = contract.PROCESSING_MAX_RUNTIME_SECONDS

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3600

    def validate(self, key: str) -> None:
        check_instance_type(f"{key}.instance_type", self.instance_type)
        check_range(f"{key}.instance_count", self.instance_count, 1,
                    contract.JOB_MAX_INSTANCE_COUNT)
        check_range(f"{key}.volume_size_gb", self.volume_size_gb, 1, contract.VOLUME_MAX_SIZE_GB)
        check_range(f"{key}.max_runtime_seconds", self.max_runtime_seconds,
                    contract.JOB_MIN_RUNTIME_SECONDS, self.MAX_RUNTIME_SECONDS)


@dataclass(frozen=True)
class JobRetryConfig:
    """Retries of SageMaker jobs that failed for a transient reason (no capacity, an internal
    error): each attempt is a new job with a fresh name, after an exponential back-off."""

    max_attempts: int = 3  # the first attempt included; 1 turns job retries off
    first_interval_seconds: int = 120
    backoff_rate: float = 2.0

    def validate(self, key: str) -> None:
        # Each attempt is paid for again; a handful covers a capacity shortage of some minutes.
        check_range(f"{key}.max_attempts", self.max_attempts, 1, 5)
        check_range(f"{key}.first_interval_seconds", self.first_interval_seconds, 1, 3600)
        check_range(f"{key}.backoff_rate", self.backoff_rate, 1.0, 5.0)

    @property
    def wait_seconds(self) -> list[int]:
        """The back-off before attempt 2, 3, ... (one fewer than max_attempts)."""
        return [round(self.first_interval_seconds * self.backoff_rate ** i)
                for i in range(self.max_attempts - 1)]


@dataclass(frozen=True)
class BatchInferenceConfig:
    """The batch transform job. CreateTransformJob takes no volume size (TransformResources has
    a volume key, no size) and no maximum runtime, so neither is a key here."""

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    schedule: str | None = None  # EventBridge Scheduler expression; None = not scheduled
    max_payload_mb: int = 6

    def validate(self, key: str) -> None:
        check_instance_type(f"{key}.instance_type", self.instance_type)
        check_range(f"{key}.instance_count", self.instance_count, 1,
                    contract.JOB_MAX_INSTANCE_COUNT)
        if self.schedule is not None:
            check_schedule(f"{key}.schedule", self.schedule)
        check_range(f"{key}.max_payload_mb", self.max_payload_mb, 1,
                    contract.TRANSFORM_MAX_PAYLOAD_MB)


@dataclass(frozen=True)
class RegistryConfig:
    approval_status: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"

    def validate(self, key: str) -> None:
        return None
