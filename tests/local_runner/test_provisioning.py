"""Every stage's synthesized app can be deployed into the emulated account (no runs here)."""

from __future__ import annotations

import pytest

from local_runner.local_run import LocalPlatform


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_stage_deploys_into_the_emulated_account(synthesized, tmp_path, stage):
    with LocalPlatform(synthesized[stage].outdir, workdir=tmp_path) as platform:
        names = set(platform.account.state_machines)
        assert {f"mlplatform-{stage}-training", f"mlplatform-{stage}-batch-inference",
                f"mlplatform-{stage}-churn-deployment"} <= names
        assert f"mlplatform-{stage}-pipeline-input" in platform.account.lambdas
        assert platform.account.model_package_groups == [f"mlplatform-{stage}-churn"]
        assert platform.seed()  # the sample data lands in the stage's raw bucket


def test_intrinsics_render_as_a_deploy_renders_them():
    """Fn::Sub variables (the image URI's account and URL suffix) and EC2 ids (a job's VPC)
    become values of their real form, so requests can be held to AWS's patterns."""
    from local_runner.assembly import StackTemplate
    from local_runner.definitions import render_intrinsic
    from local_runner.emulated_account import named_account

    template = {"Resources": {
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {}},
        "Jobs": {"Type": "AWS::EC2::SecurityGroup", "Properties": {}}},
        "Outputs": {"SubnetOut": {"Value": {"Ref": "Subnet"}}}}
    account = named_account([StackTemplate("net", "Network", template)], region="eu-west-1")
    values = account.substitutions
    assert values["Subnet"].startswith("subnet-") and len(values["Subnet"]) == 24
    assert values["Jobs.GroupId"].startswith("sg-")
    assert account.outputs["net.SubnetOut"] == values["Subnet"]
    uri = {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.eu-west-1.${AWS::URLSuffix}/repo:${Tag}"
                      "-${!Literal}"}
    assert render_intrinsic(uri, {}) == \
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:${Tag}-${Literal}"
    assert render_intrinsic({"Fn::Sub": ["${X}/${Jobs.GroupId}", {"X": {"Ref": "Subnet"}}]},
                            values) == f"{values['Subnet']}/{values['Jobs.GroupId']}"
