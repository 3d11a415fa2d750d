"""cdk-nag acknowledgements for the roles CDK Pipelines generates, each with why its wildcards
are needed. Call after `pipeline.build_pipeline()`: the projects and roles do not exist before.

Every generated role gets only what CDK Pipelines grants it; nothing here widens a policy.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from ml_constructs.compliance import (
    BUCKET_READ_ACTIONS,
    BUCKET_WRITE_ACTIONS,
    KEY_ACTIONS,
    acknowledge_role_policy,
    in_finding,
    wildcard_findings,
)
from ml_constructs.delivery_pipeline import DeliveryPipeline

ARTIFACTS_READ = BUCKET_READ_ACTIONS
ARTIFACTS_WRITE = BUCKET_WRITE_ACTIONS
KEY_WRITE = KEY_ACTIONS

ARTIFACTS_REASON = (
    "CDK's grants on this pipeline's own artifact bucket and its key: CodePipeline names the "
    "artifact objects per execution, so object access is on the bucket's keys, and the KMS "
    "actions are those S3 needs for SSE-KMS on that one key.")
PROJECT_REASON = (
    " The CodeBuild project writes its own log streams and test reports, whose names CodeBuild "
    "generates per build under the project's log group and report-group prefix.")
ASSETS_REASON = (
    " CDK Pipelines shares this role across every asset's publishing project and uses it as "
    "their action role: logs and reports are scoped to CodeBuild's /aws/codebuild/ and "
    "report-group/ in this account and region, and codebuild:StartBuild/StopBuild/"
    "BatchGetBuilds on '*' lets the action start whichever of those projects it runs. Publishing "
    "itself happens through the bootstrap publishing role, named exactly.")
REPLICAS_REASON = (
    " It also copies artifacts to the replication bucket of each other region the pipeline "
    "deploys to; that bucket's key lives in another stack and region and is named by alias, "
    "which IAM cannot scope, so the KMS actions are on '*' and the key's own policy decides.")
SELF_MUTATION_REASON = (
    " `cdk deploy` of the pipeline stack assumes the CDK bootstrap roles, which it finds by name "
    "per account; the policy allows only roles tagged aws-cdk:bootstrap-role "
    "(deploy, file-publishing, image-publishing). cloudformation:DescribeStacks and "
    "s3:ListBucket on '*' are how the CLI reads the bootstrap stack's version and bucket.")


def _policy(role: iam.IRole | None) -> IConstruct | None:
    return role.node.try_find_child("DefaultPolicy") if role is not None else None


def _project_resources(project: codebuild.IProject) -> list[str]:
    stack = cdk.Stack.of(project)
    name = project.project_name
    logs = stack.format_arn(service="logs", resource="log-group",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                            resource_name=f"/aws/codebuild/{name}:*")
    reports = stack.format_arn(service="codebuild", resource="report-group",
                               resource_name=f"{name}-*")
    return [in_finding(project, logs), in_finding(project, reports)]


def acknowledge_generated_roles(stack: cdk.Stack, delivery: DeliveryPipeline, *,
                                artifact_objects: str, accounts: Iterable[str],
                                steps: Iterable, replicas: Iterable[s3.IBucket] = ()) -> None:
    """`artifact_objects`: the artifact bucket's object ARN (`arn_for_objects('*')`);
    `accounts`: every account the pipeline deploys to, its own included; `steps`: our
    CodeBuildSteps beyond synth (the smoke tests), whose roles CDK Pipelines also extends;
    `replicas`: the replication buckets of stages in other regions."""
    objects = in_finding(stack, artifact_objects)
    pipeline = delivery.pipeline
    writers = wildcard_findings(actions=(*ARTIFACTS_WRITE, *KEY_WRITE), resources=(objects,))

    # The pipeline and its source action move every artifact in and out of the bucket.
    acknowledge_role_policy(_policy(delivery.source_role), ARTIFACTS_REASON, writers)
    replica_objects = tuple(in_finding(stack, b.arn_for_objects("*")) for b in replicas)
    acknowledge_role_policy(
        _policy(delivery.code_pipeline.role),
        ARTIFACTS_REASON + (REPLICAS_REASON if replica_objects else ""),
        writers + wildcard_findings(resources=(*replica_objects,
                                               *(("*",) if replica_objects else ()))))
    acknowledge_role_policy(_policy(pipeline.synth_project.role),
                            ARTIFACTS_REASON + PROJECT_REASON,
                            writers + wildcard_findings(
                                resources=tuple(_project_resources(pipeline.synth_project))))

    mutation = pipeline.self_mutation_project
    bootstrap_roles = tuple(in_finding(stack, f"arn:*:iam::{account}:role/*")
                            for account in accounts)
    acknowledge_role_policy(
        _policy(mutation.role), ARTIFACTS_REASON + PROJECT_REASON + SELF_MUTATION_REASON,
        wildcard_findings(actions=(*ARTIFACTS_READ, *KEY_WRITE),
                          resources=(objects, "*", *bootstrap_roles,
                                     *_project_resources(mutation))))

    assets = pipeline.node.try_find_child("Assets")
    all_logs = stack.format_arn(service="logs", resource="log-group",
                                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                                resource_name="/aws/codebuild/*")
    all_reports = stack.format_arn(service="codebuild", resource="report-group",
                                   resource_name="*")
    for kind in ("FileRole", "DockerRole"):
        role = assets.node.try_find_child(kind) if assets is not None else None
        if role is not None:
            acknowledge_role_policy(_policy(role), ARTIFACTS_REASON + ASSETS_REASON,
                                    wildcard_findings(actions=ARTIFACTS_READ, resources=(
                                        objects, "*", in_finding(stack, all_logs),
                                        in_finding(stack, all_reports))))

    # The role CodePipeline uses to start CodeBuild actions: three actions on named projects.
    acknowledge_role_policy(_policy(pipeline.node.try_find_child("CodeBuildActionRole")),
                            "Starts and watches this pipeline's named CodeBuild projects.", [])
    for step in steps:
        acknowledge_role_policy(_policy(step.project.role), ARTIFACTS_REASON + PROJECT_REASON,
                                wildcard_findings(actions=(*ARTIFACTS_READ, *KEY_WRITE),
                                                  resources=(objects,
                                                             *_project_resources(step.project))))
