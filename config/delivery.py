"""What a CI/CD stage's pipeline deploys: the stages its `cicd.stages` lists, checked against
each other and against the stage hosting the pipeline, and what the pipeline does around each
(docs/cicd.md). The stacks build exactly this plan."""

from __future__ import annotations

from dataclasses import dataclass

from config.loader import load_stage_config
from config.problems import ConfigError, collecting, report
from config.stage import StageConfig


@dataclass(frozen=True)
class DeliveredStage:
    """One stage of the pipeline, in deployment order."""

    config: StageConfig
    approval_before: bool  # a manual approval before it (cicd.manual_approval_before)
    smoke_test: bool  # the training pipeline on the sample data after it: the first stage
    # ECR scan on push is a registry setting, once per account and region: set it here when
    # this is the first stage in an account and region the pipeline's own is not.
    scan_on_push: bool
    elsewhere: bool  # deploys outside the pipeline's account and region


def deploys_elsewhere(host: StageConfig, stage: StageConfig) -> bool:
    """Whether `stage` deploys outside the pipeline's account and region (a null account is the
    pipeline's own: CDK Pipelines deploys environment-agnostic stacks there)."""
    return (stage.account not in (None, host.account)) or stage.region != host.region


def plan_delivery(host: StageConfig,
                  stages: list[StageConfig] | None = None) -> list[DeliveredStage]:
    """The stages `host`'s pipeline deploys (loaded from their files unless given), in order.
    Raises ConfigError with every problem between them at once."""
    cicd = host.cicd
    if not cicd.enabled:
        raise ConfigError("cicd.enabled", f"stage {host.stage!r} hosts no pipeline", "true")
    if stages is None:
        stages = [load_stage_config(name) for name in cicd.stages]
    with collecting() as problems:
        _check(host, stages)
    if problems:
        raise ConfigError.of(problems)
    scanned = {(host.account, host.region)}
    plan = []
    for index, stage in enumerate(stages):
        where = (stage.account or host.account, stage.region)
        plan.append(DeliveredStage(
            config=stage, approval_before=stage.stage == cicd.manual_approval_before,
            smoke_test=cicd.smoke_test and index == 0,
            scan_on_push=cicd.registry_scan_on_push and where not in scanned,
            elsewhere=deploys_elsewhere(host, stage)))
        scanned.add(where)
    return plan


def _check(host: StageConfig, stages: list[StageConfig]) -> None:
    for index, stage in enumerate(stages):
        if stage.cicd.enabled:
            # Its app would be a pipeline too, with no platform stacks to deploy.
            report(f"cicd.stages[{index}]", f"stage {stage.stage!r} hosts a pipeline itself "
                   "(its cicd.enabled is true): a pipeline deploys stages that deploy use "
                   "cases", "a stage whose cicd.enabled is false")
    elsewhere = [s.stage for s in stages if deploys_elsewhere(host, s)]
    if elsewhere and host.account is None:
        # Cross-account trust and cross-region replication name the pipeline's account.
        report("account", f"stages {', '.join(elsewhere)} deploy to another account or region, "
               "so the stage hosting the pipeline must name its own account", "12 digits")
