"""`lake_formation` and `studio`: who governs the data lake, its LF-tags and readers, and the
data scientists' Studio domain. Cross-checks with the rest of the stage (use cases, network,
the use cases' column sensitivities) are in `check_lake_against_stage`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from config.checks import check_range
from config.problems import report

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
# AWS::LakeFormation::Tag's TagKey/TagValues pattern (letters, digits, _ . : / = + - @ %),
# without the spaces it also allows: a key or value is written into IAM-free expressions only.
LF_TAG_TEXT = re.compile(r"^[A-Za-z0-9_.:/=+@%-]{1,128}$")
# SageMaker UserProfileName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (CreateUserProfile).
USER_PROFILE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# StudioLifecycleConfig idle shutdown: SageMaker's own idle shutdown for JupyterLab accepts
# 60..525600 minutes (IdleSettings.IdleTimeoutInMinutes in CreateDomain).
IDLE_TIMEOUT_MINUTES = (60, 525600)


@dataclass(frozen=True)
class LakeReaderConfig:
    """A data scientist's (or analyst's) IAM role that reads the curated tables by LF-tag."""

    role_arn: str
    domains: list[str] = field(default_factory=list)  # use case names; [] = all of the stage's
    sensitivity: list[str] = field(default_factory=lambda: ["internal"])

    def validate(self, key: str) -> None:
        if not ROLE_ARN.match(self.role_arn):
            report(f"{key}.role_arn", f"{self.role_arn!r} is not an IAM role ARN",
                   "arn:aws:iam::<12 digits>:role/<name>")


@dataclass(frozen=True)
class LakeFormationConfig:
    """Lake Formation governs the raw and curated locations and the Glue catalog."""

    enabled: bool = False
    # Data lake administrators besides the CloudFormation execution role (which must be one to
    # create the tags and grants). Role or user ARNs.
    admins: list[str] = field(default_factory=list)
    # The data lake settings are one per account and region: a second stage in the same account
    # sets false and relies on the first stage's settings.
    manage_settings: bool = True
    # LF-tag keys are account-wide too: stages sharing an account use distinct keys.
    domain_tag: str = "domain"  # its values: the stage's use case names
    sensitivity_tag: str = "sensitivity"
    sensitivity_levels: list[str] = field(default_factory=lambda: ["internal", "confidential"])
    default_sensitivity: str = "internal"  # of every table; columns may be marked otherwise
    readers: list[LakeReaderConfig] = field(default_factory=list)

    def validate(self, key: str) -> None:
        for name in ("domain_tag", "sensitivity_tag"):
            value = getattr(self, name)
            if not LF_TAG_TEXT.match(value):
                report(f"{key}.{name}", f"{value!r} is not an LF-tag key",
                       "1-128 letters, digits and _ . : / = + - @ %")
        if self.domain_tag == self.sensitivity_tag:
            report(f"{key}.sensitivity_tag", "is the same key as domain_tag",
                   "two different LF-tag keys")
        if not self.sensitivity_levels:
            report(f"{key}.sensitivity_levels", "is empty", 'e.g. ["internal", "confidential"]')
        for i, level in enumerate(self.sensitivity_levels):
            if not LF_TAG_TEXT.match(level):
                report(f"{key}.sensitivity_levels[{i}]", f"{level!r} is not an LF-tag value",
                       "1-128 letters, digits and _ . : / = + - @ %")
        if len(set(self.sensitivity_levels)) != len(self.sensitivity_levels):
            report(f"{key}.sensitivity_levels", "lists a level twice", "each level once")
        if self.default_sensitivity not in self.sensitivity_levels:
            report(f"{key}.default_sensitivity", f"{self.default_sensitivity!r} is not one of "
                   "sensitivity_levels", ", ".join(self.sensitivity_levels))
        for i, admin in enumerate(self.admins):
            if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/\S+$", admin):
                report(f"{key}.admins[{i}]", f"{admin!r} is not an IAM role or user ARN",
                       "arn:aws:iam::<12 digits>:role/<name> or ...:user/<name>")
        for i, reader in enumerate(self.readers):
            reader.validate(f"{key}.readers[{i}]")


@dataclass(frozen=True)
class StudioConfig:
    """A SageMaker Studio domain for the stage's data scientists (needs lake_formation and
    network.isolate: the domain runs VPC-only in the stage's VPC)."""

    enabled: bool = False
    users: list[str] = field(default_factory=list)  # user profile names
    idle_timeout_minutes: int = 120  # JupyterLab apps shut down after this long idle
    # What the data scientists read besides the default sensitivity (e.g. ["confidential"]).
    sensitivity: list[str] = field(default_factory=lambda: ["internal"])
    # An MLflow tracking server (AWS::SageMaker::MlflowTrackingServer) they may log to.
    mlflow_tracking_server_arn: str | None = None

    def validate(self, key: str) -> None:
        for i, user in enumerate(self.users):
            if not USER_PROFILE_NAME.match(user):
                report(f"{key}.users[{i}]", f"{user!r} is not a user profile name",
                       "1-63 letters, digits and '-', starting and ending with a letter or digit")
        if len(set(self.users)) != len(self.users):
            report(f"{key}.users", "lists a user twice", "each user once")
        check_range(f"{key}.idle_timeout_minutes", self.idle_timeout_minutes,
                    *IDLE_TIMEOUT_MINUTES)
        arn = self.mlflow_tracking_server_arn
        if arn is not None and not re.match(
                r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:mlflow-tracking-server/\S+$", arn):
            report(f"{key}.mlflow_tracking_server_arn", f"{arn!r} is not a tracking server ARN",
                   "arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>, or null")


def check_lake_against_stage(config) -> None:
    """Rules between `lake_formation`, `studio` and the rest of the stage (a StageConfig)."""
    lake, studio = config.lake_formation, config.studio
    names = [u.name for u in config.use_cases]
    if studio.enabled and not lake.enabled:
        report("studio.enabled", "Studio's data scientists read the lake through Lake "
               "Formation, and lake_formation.enabled is false", "lake_formation.enabled: true")
    if studio.enabled and not config.network.isolate:
        report("studio.enabled", "the domain runs VPC-only in the stage's VPC, and "
               "network.isolate is false", "network.isolate: true with studio")
    _check_levels("studio.sensitivity", studio.sensitivity, lake)
    for i, reader in enumerate(lake.readers):
        for j, domain in enumerate(reader.domains):
            if domain not in names:
                report(f"lake_formation.readers[{i}].domains[{j}]", f"{domain!r} is not a use "
                       "case of this stage", ", ".join(names))
        _check_levels(f"lake_formation.readers[{i}].sensitivity", reader.sensitivity, lake)
    if not lake.enabled:
        return
    for i, use_case in enumerate(config.use_cases):
        for column, level in column_sensitivity(use_case).items():
            if level not in lake.sensitivity_levels:
                report(f"use_cases[{i}]", f"{use_case.name}'s glue schema marks column "
                       f"{column!r} as {level!r}, not a level of lake_formation."
                       "sensitivity_levels", ", ".join(lake.sensitivity_levels))


def _check_levels(key: str, levels: list[str], lake: LakeFormationConfig) -> None:
    for i, level in enumerate(levels):
        if level not in lake.sensitivity_levels:
            report(f"{key}[{i}]", f"{level!r} is not a sensitivity level",
                   ", ".join(lake.sensitivity_levels))


def column_sensitivity(use_case) -> dict[str, str]:
    """The columns a use case's curated table schema (its glue_schema.json) marks with a
    sensitivity of their own (`column_sensitivity`, e.g. a customer id as confidential)."""
    path = use_case.manifest.path(use_case.manifest.glue_schema)
    if not path.exists():
        return {}  # the Glue ETL construct reports the missing schema
    return dict(json.loads(path.read_text()).get("column_sensitivity", {}))
