"""The self-mutating CDK Pipelines pipeline: repository source, tested synth, asset publishing.

Stages, approvals and smoke tests are added by the stack (`stacks/cicd_stack.py`); this module
owns how the pipeline itself builds: which images, which commands, which CLI versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# CDK Pipelines installs the CLI with `npm install -g aws-cdk@<version>` in its self-mutation and
# asset steps, "latest" by default: npm's latest tag is a build that cannot read this library's
# cloud assembly, so the steps use the version package.json pins for workstations.
CDK_CLI_VERSION: str = json.loads((PROJECT_ROOT / "package.json").read_text())[
    "devDependencies"]["aws-cdk"]
# The asset publisher CDK Pipelines installs the same way (`npm install -g cdk-assets@...`).
CDK_ASSETS_VERSION = "4.7.3"
TEST_REPORTS_DIR = "reports"
# Ubuntu 22.04 image with Python 3.11 and Node 20 selectable: the versions the project pins.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0


@dataclass(frozen=True)
class DeliveryPipelineProps:
    pipeline_name: str
    connection_arn: str
    repository: str
    branch: str
    synth_stage: str  # the stage file that hosts the pipeline: `cdk synth -c stage=<it>`
    artifact_bucket: s3.IBucket
    deploys_elsewhere: bool  # some stage is in another account or region


def synth_build_spec() -> codebuild.BuildSpec:
    """Runtimes the Makefile expects, and the pytest JUnit file as a CodeBuild test report."""
    return codebuild.BuildSpec.from_object({
        "phases": {"install": {"runtime-versions": {"python": "3.11", "nodejs": "20",
                                                    "java": "corretto21"}}},
        "reports": {"pytest": {"files": ["pytest.xml"], "base-directory": TEST_REPORTS_DIR,
                               "file-format": "JUNITXML"}},
    })


def synth_commands(stage: str) -> list[str]:
    return [
        # `make test` is what a developer runs: set-up from requirements*.txt and package.json,
        # ruff, then the whole pytest suite (cdk-nag and cfn-lint over every stage included).
        f'PYTEST_ADDOPTS="--junitxml={TEST_REPORTS_DIR}/pytest.xml" make test',
        # The cloud assembly the pipeline deploys; nag packs run again inside synth.
        # The venv first on PATH: cdk.json runs `python3 app.py`.
        f'PATH="$PWD/.venv/bin:$PATH" npx --no-install cdk synth --quiet -c stage={stage} '
        '-c "git_commit=$COMMIT_ID"',
    ]


class DeliveryPipeline(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 props: DeliveryPipelineProps) -> None:
        super().__init__(scope, construct_id)
        # Connections (GitHub, Bitbucket, GitLab) rather than CodeCommit, which takes no new
        # customers. The zip output is enough: the build reads the commit id from the action.
        self.source_action_name = "Checkout"
        self.source = pipelines.CodePipelineSource.connection(
            props.repository, props.branch, connection_arn=props.connection_arn,
            action_name=self.source_action_name, trigger_on_push=True)
        self.code_pipeline = codepipeline.Pipeline(
            self, "CodePipeline", pipeline_name=props.pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            # Our bucket (KMS, logged, TLS-only) instead of the unlogged one CDK would create.
            artifact_bucket=props.artifact_bucket,
            # Stages in other accounts or regions: customer-managed, rotated keys for the
            # replication buckets CodePipeline creates (CDK allows rotation only with these).
            cross_account_keys=props.deploys_elsewhere,
            enable_key_rotation=props.deploys_elsewhere,
            # Self-mutation updates the pipeline mid-run: restart so the new shape runs.
            restart_execution_on_update=True)
        # cfn-lint E3703 validates a deploy action's RoleArn as an ARN but cannot read the
        # Fn::Join CDK Pipelines writes for the bootstrap roles (partition, account); only that
        # rule, only on this resource.
        self.code_pipeline.node.default_child.add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["E3703"]}})
        synth = pipelines.CodeBuildStep(
            "Synth", input=self.source,
            env={"COMMIT_ID": self.source.source_attribute("CommitId")},
            commands=synth_commands(props.synth_stage),
            primary_output_directory="cdk.out",
            partial_build_spec=synth_build_spec(),
            timeout=cdk.Duration.minutes(60))
        defaults = codebuild.BuildEnvironment(build_image=BUILD_IMAGE,
                                              compute_type=codebuild.ComputeType.MEDIUM)
        self.pipeline = pipelines.CodePipeline(
            self, "Pipeline", code_pipeline=self.code_pipeline, synth=synth,
            self_mutation=True, cli_version=CDK_CLI_VERSION,
            cdk_assets_cli_version=CDK_ASSETS_VERSION,
            code_build_defaults=pipelines.CodeBuildOptions(build_environment=defaults),
            # Synth only stages the runtime image's build context and self-mutation only runs
            # `cdk deploy` of this stack: neither builds images, so neither gets Docker.
            docker_enabled_for_synth=False,
            docker_enabled_for_self_mutation=False,
            # CDK Pipelines runs each Docker image asset's project privileged (the runtime
            # image is built there); file assets stay unprivileged. Image builds get time.
            asset_publishing_code_build_defaults=pipelines.CodeBuildOptions(
                timeout=cdk.Duration.minutes(60)),
            publish_assets_in_parallel=True)


    @property
    def source_role(self) -> iam.IRole:
        """The source action's role (exists once the pipeline is built)."""
        return self.code_pipeline.node.find_child("Source").node.find_child(
            self.source_action_name).node.find_child("CodePipelineActionRole")

    def grant_connection_use(self, connection_arn: str) -> None:
        """CDK grants `codestar-connections:UseConnection`; a connection created under the
        service's new name (an `arn:aws:codeconnections:` ARN) also gets the new prefix's action,
        so the grant holds whichever prefix IAM evaluates. Call after `build_pipeline()`."""
        if ":codeconnections:" in connection_arn:
            self.source_role.add_to_principal_policy(iam.PolicyStatement(
                actions=["codeconnections:UseConnection"], resources=[connection_arn]))


class ScanOnPush(Construct):
    """Basic ECR scanning on push for every repository of this account and region.

    CDK publishes images to the bootstrap stack's repository, which this app does not own, so the
    scan is set on the registry. It replaces the registry's scanning configuration: with Amazon
    Inspector (enhanced scanning) in use, turn `cicd.registry_scan_on_push` off (docs/cicd.md).
    The filter is every repository, not only CDK's: a narrower registry rule would silently stop
    repository-level scan-on-push elsewhere in the account.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        ecr.CfnRegistryScanningConfiguration(
            self, "Configuration", scan_type="BASIC",
            rules=[ecr.CfnRegistryScanningConfiguration.ScanningRuleProperty(
                scan_frequency="SCAN_ON_PUSH",
                repository_filters=[
                    ecr.CfnRegistryScanningConfiguration.RepositoryFilterProperty(
                        filter="*", filter_type="WILDCARD")])])
