"""Builds the whole CDK app for one stage. `app.py` and the tests both go through here.

A plain `cdk.App()` does not read cdk.json (only the CDK CLI passes its context), so feature
flags would silently differ between `cdk synth` and tests. `build_app` loads cdk.json's context
itself so every entry point synthesizes the same templates.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

# jsii warns on every start that Node 20 is past end-of-life; the warning is noise in synth output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from config import StageConfig, load_stage_config, plan_delivery  # noqa: E402
from ml_constructs.compliance import apply_nag_packs  # noqa: E402
from stacks.cicd_stack import CicdStack  # noqa: E402
from stacks.stage_stacks import add_stage_stacks  # noqa: E402

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
        # `cdk deploy --all` there never deploys data stacks beside it.
        CicdStack(app, "Cicd", stack_name=f"{config.resource_prefix}-pipeline",
                  env=cdk.Environment(account=config.account, region=config.region),
                  config=config, delivery=plan_delivery(config), git_commit=git_commit(app),
                  description=f"ML platform ({config.stage}): CDK Pipelines delivery of "
                              f"{', '.join(config.cicd.stages)}")
    else:
        add_stage_stacks(app, config, git_commit=git_commit(app))
    apply_nag_packs(app)
    return app, config
