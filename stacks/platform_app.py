"""Builds the whole CDK app for one stage. `app.py` and the tests both go through here.

A plain `cdk.App()` does not read cdk.json (only the CDK CLI passes its context), so feature
flags would silently differ between `cdk synth` and tests. `build_app` loads cdk.json's context
itself so every entry point synthesizes the same templates.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# jsii warns on every start that Node 20 is past end-of-life; the warning is noise in synth output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402
from constructs import Construct  # noqa: E402

from config import StageConfig, load_stage_config  # noqa: E402
from ml_constructs.compliance import apply_nag_packs  # noqa: E402
from stacks.network_stack import NetworkStack  # noqa: E402
from stacks.pipelines_stack import PipelinesStack  # noqa: E402
from stacks.serving_stack import ServingStack  # noqa: E402
from stacks.storage_stack import StorageStack  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STAGE = "dev"


def cdk_json_context() -> dict:
    return json.loads((PROJECT_ROOT / "cdk.json").read_text()).get("context", {})


def stage_from_context(app: cdk.App) -> str:
    return str(app.node.try_get_context("stage") or DEFAULT_STAGE)


def git_commit(app: cdk.App) -> str:
    """The app version stamped on every job as a lineage tag: `-c git_commit=...` (CI), else the
    checkout's HEAD, else "unknown" (e.g. a source tarball)."""
    explicit = app.node.try_get_context("git_commit")
    if explicit:
        return str(explicit)
    try:
        result = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def build_app(stage: str | None = None, *, outdir: str | None = None,
              context: dict | None = None,
              config_path: str | Path | None = None) -> tuple[cdk.App, StageConfig]:
    """Create the app, its stacks for `stage` (default: `-c stage=...`, else dev), nag packs.
    The stage's config is config/stages/<stage>.json, or the file `config_path` (default:
    `-c config_path=...`) names, e.g. a variant of a stage to synthesize and check."""
    # The CLI turns asset metadata on; tests and the local runner need it too (it tells where
    # a Lambda's or Glue job's code was staged in cdk.out).
    merged = {"aws:cdk:enable-asset-metadata": True, **cdk_json_context(), **(context or {})}
    if stage is not None:
        merged["stage"] = stage
    # Under the CLI, CDK_CONTEXT_JSON already carries cdk.json and -c values: let those win.
    app = cdk.App(context=merged, outdir=outdir)
    config_path = config_path or app.node.try_get_context("config_path")
    config = (load_stage_config(stage_from_context(app), Path(config_path)) if config_path
              else load_stage_config(stage_from_context(app)))
    if config.cicd.enabled:
        # A stage that hosts the pipeline synthesizes the pipeline alone (docs/cicd.md), so
        # `cdk deploy --all` there never deploys data stacks beside it. Imported here because
        # the pipeline's stages import `add_stage_stacks` from this module.
        from stacks.cicd_stack import CicdStack

        stages = [load_stage_config(name) for name in config.cicd.stages]
        CicdStack(app, "Cicd", stack_name=f"{config.resource_prefix}-pipeline",
                  env=cdk.Environment(account=config.account, region=config.region),
                  config=config, stages=stages, git_commit=git_commit(app),
                  description=f"ML platform ({config.stage}): CDK Pipelines delivery of "
                              f"{', '.join(config.cicd.stages)}")
    else:
        add_stage_stacks(app, config, git_commit=git_commit(app))
    apply_nag_packs(app)
    return app, config


@dataclass(frozen=True)
class _InterimUseCasePipelines:
    group_name: str
    image: object
    training_state_machine: object


def _use_case_pipelines(pipelines: PipelinesStack, config: StageConfig) -> dict:
    """use case -> its model package group, image and training state machine. Interim, until
    the pipelines stack builds them per use case (`PipelinesStack.use_cases`): every use case
    gets the first use case's."""
    if hasattr(pipelines, "use_cases"):
        return pipelines.use_cases
    first = _InterimUseCasePipelines(pipelines.model_package_group_name, pipelines.runtime_image,
                                     pipelines.training_state_machine)
    return {use_case.name: first for use_case in config.use_cases}


@dataclass(frozen=True)
class StageStacks:
    storage: StorageStack
    pipelines: PipelinesStack
    serving: ServingStack


def add_stage_stacks(scope: Construct, config: StageConfig, *, git_commit: str) -> StageStacks:
    """One stage's stacks under `scope`: the app (plain `cdk deploy`) or a CDK Pipelines stage.
    Both use the same construct ids and stack names, so a stage moves between them in place."""
    env = cdk.Environment(account=config.account, region=config.region)
    prefix = config.resource_prefix
    storage = StorageStack(scope, "Storage", stack_name=f"{prefix}-storage", env=env,
                           config=config,
                           description=f"ML platform ({config.stage}): KMS key and data buckets")
    network = None
    if config.network.isolate:
        network = NetworkStack(scope, "Network", stack_name=f"{prefix}-network", env=env,
                               config=config, storage=storage,
                               description=f"ML platform ({config.stage}): isolated VPC").network
    pipelines = PipelinesStack(scope, "Pipelines", stack_name=f"{prefix}-pipelines", env=env,
                               config=config, storage=storage, network=network,
                               git_commit=git_commit,
                               description=f"ML platform ({config.stage}): Glue ETL, training "
                                           "and batch inference state machines")
    serving = ServingStack(scope, "Serving", stack_name=f"{prefix}-serving", env=env,
                           config=config, storage=storage, network=network,
                           pipelines=_use_case_pipelines(pipelines, config), git_commit=git_commit,
                           description=f"ML platform ({config.stage}): endpoint deployment, "
                                       "alarms, Model Monitor and drift-triggered retraining")
    for key, value in config.tags.items():
        cdk.Tags.of(scope).add(key, value)
    return StageStacks(storage=storage, pipelines=pipelines, serving=serving)
