"""The `cicd` section: CDK Pipelines delivery of the stages, from a git repository
(docs/cicd.md). Rules between the pipeline's stage and the stages it deploys: config/delivery.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from config.checks import check_email, check_range
from config.problems import report
from config.stage_files import available_stages

_CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codestar-connections|codeconnections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
    r"connection/[A-Za-z0-9-]+$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_BRANCH = re.compile(r"^(?![/.-])(?!.*(\.\.|//|@\{|\.lock$|/$))[A-Za-z0-9._/-]{1,255}$")


@dataclass(frozen=True)
class CicdConfig:
    """CDK Pipelines delivery (docs/cicd.md). When enabled, this stage's app is the pipeline: it
    deploys `stages` in order, each built from its own stage file."""

    enabled: bool = False
    connection_arn: str | None = None  # CodeConnections connection to GitHub, Bitbucket or GitLab
    repository: str | None = None  # "owner/name" ("group/subgroup/name" on GitLab)
    branch: str = "main"
    stages: list[str] = field(default_factory=lambda: ["dev", "prod"])
    manual_approval_before: str | None = "prod"
    smoke_test: bool = True  # after the first stage: the training pipeline on the sample data
    smoke_test_timeout_minutes: int = 120
    registry_scan_on_push: bool = True
    notification_email: str | None = None  # None: the stage's notification_email

    def validate(self, key: str) -> None:
        if self.connection_arn is not None and not _CONNECTION_ARN.match(self.connection_arn):
            report(f"{key}.connection_arn", f"{self.connection_arn!r} is not a "
                   "connection ARN", "arn:aws:codeconnections:REGION:ACCOUNT:"
                   "connection/ID (or codestar-connections)")
        if self.repository is not None and not _REPOSITORY.match(self.repository):
            report(f"{key}.repository", f"{self.repository!r} is not a repository",
                   "owner/name, e.g. example-org/ml-platform")
        if not _BRANCH.match(self.branch):
            report(f"{key}.branch", f"{self.branch!r} is not a branch name",
                   "a git branch such as main or release/1.2")
        check_range(f"{key}.smoke_test_timeout_minutes", self.smoke_test_timeout_minutes, 5, 480)
        check_email(f"{key}.notification_email", self.notification_email,
                    "null for the stage's notification_email")
        if self.enabled:
            self._validate_delivery(key)

    def _validate_delivery(self, key: str) -> None:
        """Only an enabled pipeline must name its source and existing stages, so a disabled
        default section never depends on which stage files a fork keeps."""
        for name in ("connection_arn", "repository"):
            if getattr(self, name) is None:
                report(f"{key}.{name}", f"is required when {key}.enabled is true",
                       "see docs/cicd.md")
        known = available_stages()
        if not self.stages:
            report(f"{key}.stages", "must list at least one stage", ", ".join(known))
        for index, name in enumerate(self.stages):
            if name not in known:
                report(f"{key}.stages[{index}]", f"unknown stage {name!r}",
                       ", ".join(known))
            elif name in self.stages[:index]:
                report(f"{key}.stages[{index}]", f"{name!r} is listed twice",
                       "each stage once, in deployment order")
        if (self.manual_approval_before is not None
                and self.manual_approval_before not in self.stages):
            report(f"{key}.manual_approval_before",
                   f"{self.manual_approval_before!r} is not in {key}.stages",
                   ", ".join(self.stages) + ", or null for no approval")
