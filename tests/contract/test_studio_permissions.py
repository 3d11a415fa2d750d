"""The Studio domain (prod turns it on): where it runs, and what its execution role may do,
asked of the IAM evaluator over the synthesized account."""

from __future__ import annotations

import base64
import json

import pytest

from ml_constructs.resource_names import BATCH_INFERENCE, DEPLOYMENT, TRAINING, UseCaseNames
from tests.contract.cfn_render import ACCOUNT

STAGE = "prod"


@pytest.fixture(scope="module")
def studio(synthesized, accounts):
    synth, account = synthesized[STAGE], accounts[STAGE]
    assert synth.config.studio.enabled, "prod no longer turns studio on: move these checks"
    (stack,) = [s for s in account.assembly.stacks if s.name.endswith("-workspace")]
    (domain,) = stack.of_type("AWS::SageMaker::Domain").values()
    role = account.render(stack, domain["Properties"]["DefaultUserSettings"]["ExecutionRole"])
    return synth.config, account, stack, domain["Properties"], role


def region_arn(config, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{config.region}:{ACCOUNT}:{resource}"


def storage_output(account, config, name: str) -> str:
    storage = account.assembly.stack(f"{config.resource_prefix}-storage")
    return account.render(storage, storage.template["Outputs"][name]["Value"])


def test_domain_is_vpc_only_encrypted_and_shuts_idle_apps_down(studio) -> None:
    config, account, stack, domain, _ = studio
    assert domain["AppNetworkAccessType"] == "VpcOnly"
    assert domain["AuthMode"] == "IAM"
    assert account.render(stack, domain["KmsKeyId"]) == storage_output(account, config,
                                                                        "PlatformKeyArn")
    assert len(domain["SubnetIds"]) == config.network.max_azs
    jupyter = domain["DefaultUserSettings"]["JupyterLabAppSettings"]
    idle = jupyter["AppLifecycleManagement"]["IdleSettings"]
    assert idle["LifecycleManagement"] == "ENABLED"
    assert idle["IdleTimeoutInMinutes"] == config.studio.idle_timeout_minutes
    profiles = [p["Properties"]["UserProfileName"]
                for p in stack.of_type("AWS::SageMaker::UserProfile").values()]
    assert profiles == config.studio.users


def test_lifecycle_configuration_writes_the_lake_coordinates(studio) -> None:
    config, _, stack, _, _ = studio
    (lifecycle,) = stack.of_type("AWS::SageMaker::StudioLifecycleConfig").values()
    script = lifecycle["Properties"]["StudioLifecycleConfigContent"]["Fn::Base64"]
    assert script.startswith("#!/bin/bash")
    document = json.loads(script.split("<<'LAKE'\n")[1].split("\nLAKE\n")[0])
    assert document["use_cases"] == [u.name for u in config.use_cases]
    assert document["athena_workgroup"] == f"{config.resource_prefix}-lake"
    base64.b64encode(script.encode())  # what Fn::Base64 sends: plain text, no token left


def test_execution_role_starts_training_and_batch_but_not_deployment(studio) -> None:
    config, account, _, _, role = studio
    for use_case in config.use_cases:
        names = UseCaseNames(config.resource_prefix, use_case.name)
        for pipeline, allowed in ((TRAINING, True), (BATCH_INFERENCE, True),
                                  (DEPLOYMENT, False)):
            machine = region_arn(config, "states", f"stateMachine:{names.state_machine(pipeline)}")
            assert bool(account.can(role, "states:StartExecution", machine)) is allowed, pipeline
            execution = region_arn(config, "states",
                                   f"execution:{names.state_machine(pipeline)}:run-1")
            assert bool(account.can(role, "states:DescribeExecution", execution)) is allowed
        group = names.model_package_group
        assert account.can(role, "sagemaker:DescribeModelPackage",
                           region_arn(config, "sagemaker", f"model-package/{group}/3"))
        assert not account.can(role, "sagemaker:UpdateModelPackage",
                               region_arn(config, "sagemaker", f"model-package/{group}/3"))


def test_execution_role_reads_the_lake_only_through_lake_formation(studio) -> None:
    config, account, _, _, role = studio
    workgroup = region_arn(config, "athena", f"workgroup/{config.resource_prefix}-lake")
    assert account.can(role, "athena:StartQueryExecution", workgroup)
    assert not account.can(role, "athena:StartQueryExecution",
                           region_arn(config, "athena", "workgroup/primary"))
    assert account.can(role, "lakeformation:GetDataAccess", "*")
    artifacts = storage_output(account, config, "ArtifactsBucketName")
    assert account.can(role, "s3:PutObject", f"arn:aws:s3:::{artifacts}/athena-results/q.csv")
    assert not account.can(role, "s3:GetObject", f"arn:aws:s3:::{artifacts}/models/model.tar.gz")
    for kind in ("Raw", "Curated"):
        bucket = storage_output(account, config, f"{kind}BucketName")
        for use_case in config.use_cases:
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                assert not account.can(role, action,
                                       f"arn:aws:s3:::{bucket}/{use_case.prefix}x.csv"), action


def test_execution_role_runs_apps_in_its_own_domain_only(studio) -> None:
    config, account, stack, _, role = studio
    (domain_id,) = {account.render(stack, {"Fn::GetAtt": [lid, "DomainId"]})
                    for lid in stack.of_type("AWS::SageMaker::Domain")}
    for domain, allowed in ((domain_id, True), ("d-someoneelse", False)):
        app = region_arn(config, "sagemaker", f"app/{domain}/data-scientist/jupyterlab/default")
        assert bool(account.can(role, "sagemaker:CreateApp", app)) is allowed
        space = region_arn(config, "sagemaker", f"space/{domain}/ada-space")
        assert bool(account.can(role, "sagemaker:CreateSpace", space)) is allowed
